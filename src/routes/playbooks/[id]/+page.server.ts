import { getApp } from '$lib/server/app';
import { raise, requireActor } from '$lib/server/http';
import { getPlaybook } from '$lib/server/services/playbook.service';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await getPlaybook(ctx, actor, { id: event.params.id, versionId: event.url.searchParams.get('version') });
	if (!r.ok) raise(r.error);
	const { summary, shown, playbook, versions } = r.value;
	// `read` picks the playbook's language independently of the UI language (a zh-CN operator may
	// hand an English print-out to a vendor engineer).
	const readParam = event.url.searchParams.get('read');
	const read: 'zh-CN' | 'en' = readParam === 'en' || readParam === 'zh-CN' ? readParam : event.locals.locale;
	return {
		read,
		playbook,
		summary: {
			id: summary.id,
			restricted: summary.restricted,
			source: summary.source,
			withdrawn: summary.withdrawn,
			version: summary.version
		},
		shown: { id: shown.id, seq: shown.seq, version: shown.version, contentHash: shown.contentHash, current: shown.current },
		versions: versions.map((v) => ({
			id: v.id,
			seq: v.seq,
			version: v.version,
			contentHash: v.contentHash,
			sourcePath: v.sourcePath,
			createdAt: v.createdAt.toISOString(),
			current: v.current
		})),
		printedAt: ctx.now().toISOString()
	};
};
