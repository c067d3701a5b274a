import { getApp } from '$lib/server/app';
import { raise, requireActor } from '$lib/server/http';
import { exportMonthlyReport } from '$lib/server/services/report.service';

// The monthly report as CSV, Markdown or PDF (?unit=<org unit id>; none = the whole organisation).
export async function GET(event) {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await exportMonthlyReport(ctx, actor, {
		period: event.params.period,
		orgUnitId: event.url.searchParams.get('unit') ?? '',
		format: event.params.format,
		locale: event.locals.locale
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
