import { getApp } from '$lib/server/app';
import { raise, requireActor } from '$lib/server/http';
import { getIncident } from '$lib/server/services/incident.service';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await getIncident(ctx, actor, event.params.id);
	if (!r.ok) raise(r.error);
	const i = r.value;
	return {
		number: i.number,
		title: i.title,
		id: i.id,
		members: i.members.map((m) => ({ userId: m.userId, displayName: m.displayName, role: m.role, phone: m.phone, email: m.email })),
		printedAt: new Date()
	};
};
