import { getApp } from '$lib/server/app';
import { failForm, raise, requireActor } from '$lib/server/http';
import { getBoard, requestUpdate } from '$lib/server/services/board.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await getBoard(ctx, actor, { window: event.url.searchParams.get('window') });
	if (!r.ok) raise(r.error);
	return {
		board: r.value,
		canManageLinks: actor.globalRole === 'admin' || actor.globalRole === 'manager'
	};
};

export const actions: Actions = {
	request: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const form = await event.request.formData();
		const incidentId = form.get('incidentId');
		const r = await requestUpdate(ctx, actor, { incidentId, text: form.get('text') ?? undefined });
		if (!r.ok) return failForm(r.error, { incidentId: typeof incidentId === 'string' ? incidentId : '' });
		return { requested: typeof incidentId === 'string' ? incidentId : '', created: r.value.created };
	}
};
