import { getApp } from '$lib/server/app';
import { raise, requireActor } from '$lib/server/http';
import { exportReview } from '$lib/server/services/review-export';

// The review as Markdown or PDF (?version=N for a published version; otherwise the current one).
export async function GET(event) {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await exportReview(ctx, actor, {
		incidentId: event.params.id,
		format: event.params.format,
		locale: event.locals.locale,
		version: event.url.searchParams.get('version') ?? undefined
	});
	if (!r.ok) raise(r.error);
	const body = typeof r.value.body === 'string' ? r.value.body : new Uint8Array(r.value.body);
	return new Response(body, {
		headers: {
			'content-type': r.value.contentType,
			'content-disposition': `attachment; filename="${r.value.filename}"`,
			'cache-control': 'no-store'
		}
	});
}
