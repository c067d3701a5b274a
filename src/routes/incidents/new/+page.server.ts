import { redirect } from '@sveltejs/kit';
import { can } from '$lib/domain/permissions';
import { zonedToInstant } from '$lib/domain/zoned-time';
import { getApp } from '$lib/server/app';
import { failForm, requireActor } from '$lib/server/http';
import { listServices } from '$lib/server/services/catalogue.service';
import { declareIncident, proposeIncident } from '$lib/server/services/incident.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const services = await listServices(ctx);
	const role = actor.globalRole === 'system' ? 'admin' : actor.globalRole;
	return {
		services: services.map((s) => ({ id: s.id, code: s.code, nameZh: s.name_zh, nameEn: s.name_en })),
		canDeclare: can({ globalRole: role, member: false, restricted: false, operation: 'declare' }),
		canPropose: can({ globalRole: role, member: false, restricted: false, operation: 'propose' })
	};
};

function detectedAt(raw: string, timeZone: string): string | undefined {
	if (!raw.trim()) return undefined;
	// Anything that is not a wall-clock time goes to the service as typed, which names the field in its error.
	return zonedToInstant(raw, timeZone)?.toISOString() ?? raw;
}

export const actions: Actions = {
	default: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const form = await event.request.formData();
		const values = {
			title: String(form.get('title') ?? ''),
			description: String(form.get('description') ?? ''),
			impact: String(form.get('impact') ?? ''),
			urgency: String(form.get('urgency') ?? ''),
			services: form.getAll('services').map(String),
			// datetime-local has no zone: it is wall-clock time in the user's time zone.
			detectedAt: detectedAt(String(form.get('detectedAt') ?? ''), event.locals.timeZone),
			source: String(form.get('source') ?? 'web'),
			drill: form.get('drill') === 'on',
			restricted: form.get('restricted') === 'on'
		};
		const mode = form.get('mode') === 'declare' ? 'declare' : 'propose';
		const r = mode === 'declare' ? await declareIncident(ctx, actor, values) : await proposeIncident(ctx, actor, values);
		if (!r.ok)
			return failForm(r.error, {
				...values,
				services: values.services.join(','),
				drill: String(values.drill),
				restricted: String(values.restricted)
			});
		redirect(303, `/incidents/${r.value.incident.id}`);
	}
};
