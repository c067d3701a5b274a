import { error } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { failForm, formValues, requireActor } from '$lib/server/http';
import { listOrgUnits } from '$lib/server/services/catalogue.service';
import { listUsers, updateUser } from '$lib/server/services/users.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const users = await listUsers(ctx, actor);
	const u = users.ok ? users.value.find((x) => x.id === event.params.id) : undefined;
	if (!u) error(404, { message: 'No such user', code: 'not_found' });
	const units = await listOrgUnits(ctx);
	return {
		user: {
			id: u.id,
			username: u.username,
			displayName: u.display_name,
			email: u.email ?? '',
			phone: u.phone ?? '',
			locale: u.locale,
			timeZone: u.time_zone,
			orgUnitId: u.org_unit_id ?? '',
			globalRole: u.global_role,
			disabled: u.disabled
		},
		units: units.map((o) => ({ id: o.id, code: o.code, nameZh: o.name_zh, nameEn: o.name_en }))
	};
};

export const actions: Actions = {
	default: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const values = formValues(await event.request.formData());
		const r = await updateUser(ctx, actor, {
			userId: event.params.id,
			input: { ...values, disabled: values.disabled === 'on' }
		});
		if (!r.ok) return failForm(r.error, values);
		return { updated: r.value.username };
	}
};
