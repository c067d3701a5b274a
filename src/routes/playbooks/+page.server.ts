import { fail } from '@sveltejs/kit';
import { PLAYBOOK_CATEGORIES } from '$lib/domain/playbook';
import { getApp } from '$lib/server/app';
import { requireActor } from '$lib/server/http';
import {
	brokenPlaybooks,
	importPlaybook,
	listPlaybooks,
	MAX_IMPORT_BYTES,
	mayAdminPlaybooks,
	playbookServiceCodes
} from '$lib/server/services/playbook.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const params = event.url.searchParams;
	const filters = { query: params.get('q') ?? '', category: params.get('category') ?? '', service: params.get('service') ?? '' };
	const [playbooks, services] = await Promise.all([listPlaybooks(ctx, actor, filters), playbookServiceCodes(ctx, actor)]);
	const broken = brokenPlaybooks(ctx, actor);
	return {
		filters,
		categories: [...PLAYBOOK_CATEGORIES],
		services,
		playbooks: playbooks.map((p) => ({
			id: p.id,
			category: p.category,
			restricted: p.restricted,
			title: p.title,
			summary: p.summary,
			services: p.services,
			tags: p.tags,
			source: p.source,
			version: p.version,
			updatedAt: p.updatedAt.toISOString()
		})),
		isAdmin: mayAdminPlaybooks(actor),
		maxImportKb: MAX_IMPORT_BYTES / 1024,
		broken: broken.ok
			? broken.value.map((b) => ({ path: b.path, errors: b.errors.map((e) => ({ line: e.line, column: e.column, message: e.message })) }))
			: null
	};
};

export const actions: Actions = {
	import: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const data = await event.request.formData();
		const file = data.get('file');
		const pasted = data.get('text');
		const hasFile = file instanceof File && file.size > 0;
		const hasText = typeof pasted === 'string' && pasted.trim() !== '';
		const values = { text: typeof pasted === 'string' ? pasted : '' };
		if (hasFile && hasText) return fail(400, { code: 'both', issues: [], values });
		// Read the upload as bytes so a non-UTF-8 file is reported, not silently mangled.
		if (hasFile && file.size > MAX_IMPORT_BYTES) return fail(413, { code: 'too_large', issues: [], values });
		let text = hasText ? (pasted as string) : '';
		let fileName = 'pasted.yaml';
		if (hasFile) {
			fileName = file.name || 'upload.yaml';
			try {
				text = new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
			} catch {
				// A decoding failure is the user's file, not a server fault: say so next to the field.
				return fail(400, { code: 'invalid_encoding', issues: [], values });
			}
		}
		const r = await importPlaybook(ctx, actor, { fileName, text });
		if (!r.ok) {
			const issues = (r.error.issues ?? []).map((i) => ({ path: i.path, line: i.line, column: i.column, message: i.message }));
			return fail(r.error.code === 'forbidden' ? 403 : 400, { code: r.error.code, issues, values: hasFile ? { text: '' } : values });
		}
		return { imported: r.value.playbookId, created: r.value.created };
	}
};
