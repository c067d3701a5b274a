import { getApp } from '$lib/server/app';
import { failForm, formValues, requireActor } from '$lib/server/http';
import { listOrgUnits, listServices, saveService } from '$lib/server/services/catalogue.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	requireActor(event);
	const { ctx } = await getApp();
	const [services, units] = await Promise.all([listServices(ctx), listOrgUnits(ctx)]);
	return {
		services: services.map((s) => ({
			id: s.id,
			code: s.code,
			nameZh: s.name_zh,
			nameEn: s.name_en,
			criticality: s.criticality,
			regions: s.regions,
			owner: units.find((u) => u.id === s.owner_team_id)?.code ?? null
		})),
		teams: units.filter((u) => u.kind === 'team').map((u) => ({ id: u.id, code: u.code }))
	};
};

export const actions: Actions = {
	save: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const values = formValues(await event.request.formData());
		const r = await saveService(ctx, actor, { id: values.id || undefined, input: values });
		if (!r.ok) return failForm(r.error, values);
		return { saved: r.value.code };
	}
};
