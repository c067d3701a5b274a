import { getApp } from '$lib/server/app';
import { failForm, formValues, requireActor } from '$lib/server/http';
import { listOrgUnits, saveOrgUnit } from '$lib/server/services/catalogue.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	requireActor(event);
	const { ctx } = await getApp();
	const units = await listOrgUnits(ctx);
	return {
		units: units.map((o) => ({
			id: o.id,
			parentId: o.parent_id,
			code: o.code,
			nameZh: o.name_zh,
			nameEn: o.name_en,
			kind: o.kind,
			region: o.region
		}))
	};
};

export const actions: Actions = {
	save: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const values = formValues(await event.request.formData());
		const r = await saveOrgUnit(ctx, actor, { id: values.id || undefined, input: values });
		if (!r.ok) return failForm(r.error, values);
		return { saved: r.value.code };
	}
};
