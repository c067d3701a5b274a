import { getApp } from '$lib/server/app';
import { raise, requireActor } from '$lib/server/http';
import { getMonthlyReport } from '$lib/server/services/report.service';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const unit = event.url.searchParams.get('unit') ?? '';
	const r = await getMonthlyReport(ctx, actor, { period: event.params.period, orgUnitId: unit });
	if (!r.ok) raise(r.error);
	return { period: event.params.period, unit, report: r.value.data, units: r.value.units };
};
