import { getApp } from '$lib/server/app';
import { failForm, formValues, raise, requireActor } from '$lib/server/http';
import { listOrgUnits } from '$lib/server/services/catalogue.service';
import { createUser, listUsers } from '$lib/server/services/users.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const users = await listUsers(ctx, actor);
	if (!users.ok) raise(users.error);
	const units = await listOrgUnits(ctx);
	return {
		users: users.value.map((u) => ({
			id: u.id,
			username: u.username,
			displayName: u.display_name,
			email: u.email,
			phone: u.phone,
			globalRole: u.global_role,
			disabled: u.disabled,
			orgUnit: units.find((o) => o.id === u.org_unit_id)?.code ?? null
		})),
		units: units.map((o) => ({ id: o.id, code: o.code, nameZh: o.name_zh, nameEn: o.name_en }))
	};
};

export const actions: Actions = {
	create: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const values = formValues(await event.request.formData());
		const r = await createUser(ctx, actor, values);
		if (!r.ok) return failForm(r.error, values);
		return { created: r.value.username };
	}
};
