import { error } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { requireActor } from '$lib/server/http';
import { recentEvents, verifyChain } from '$lib/server/services/audit.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const events = await recentEvents(ctx, actor, 200);
	if (!events.ok) error(403, { message: events.error.message, code: events.error.code });
	return { events: events.value };
};

export const actions: Actions = {
	verify: async (event) => {
		const actor = requireActor(event);
		if (actor.globalRole !== 'admin') error(403, { message: 'Administrators only', code: 'forbidden' });
		const { ctx } = await getApp();
		return { verification: await verifyChain(ctx.db) };
	}
};
