import { getApp } from '$lib/server/app';
import { raise, requireActor } from '$lib/server/http';
import { contactListCsv } from '$lib/server/services/contacts.service';

// CSV download of the response group (the print view is ../contacts).
export async function GET(event) {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await contactListCsv(ctx, actor, { incidentId: event.params.id, locale: event.locals.locale });
	if (!r.ok) raise(r.error);
	return new Response(r.value.csv, {
		headers: {
			'content-type': 'text/csv; charset=utf-8',
			'content-disposition': `attachment; filename="${r.value.filename}"`,
			'cache-control': 'no-store'
		}
	});
}
