import { redirect } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { failForm, raise, requireActor } from '$lib/server/http';
import { previousPeriod } from '$lib/domain/review-metrics';
import { generateOnDemand, listReportPeriods } from '$lib/server/services/report.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await listReportPeriods(ctx, actor);
	if (!r.ok) raise(r.error);
	return {
		periods: r.value,
		suggested: previousPeriod(ctx.now(), ctx.config.orgTimeZone),
		mayGenerate: actor.globalRole === 'admin' || actor.globalRole === 'manager'
	};
};

export const actions: Actions = {
	generate: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const period = (await event.request.formData()).get('period');
		const r = await generateOnDemand(ctx, actor, { period });
		if (!r.ok) return failForm(r.error, { period: String(period ?? '') });
		redirect(303, `/reports/${r.value.period}`);
	}
};
