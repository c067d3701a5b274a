import { fail } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { answerSurvey, getSurvey } from '$lib/server/services/survey.service';
import type { Actions, PageServerLoad } from './$types';

// No account: the link's secret is the only credential (single use, expiring; see survey.service).
export const load: PageServerLoad = async (event) => {
	const { ctx } = await getApp();
	const r = await getSurvey(ctx, { token: event.params.token });
	if (!r.ok)
		return {
			state: r.error.code === 'used' ? ('used' as const) : r.error.code === 'expired' ? ('expired' as const) : ('invalid' as const),
			prompt: null
		};
	return { state: 'open' as const, prompt: r.value };
};

export const actions: Actions = {
	default: async (event) => {
		const { ctx } = await getApp();
		const f = await event.request.formData();
		const comment = String(f.get('comment') ?? '');
		const r = await answerSurvey(ctx, { token: event.params.token, score: f.get('score'), comment });
		if (!r.ok) return fail(r.error.code === 'invalid' ? 400 : 409, { code: r.error.code, field: r.error.field ?? null, comment });
		return { answered: true };
	}
};
