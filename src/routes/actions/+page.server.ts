import { getApp } from '$lib/server/app';
import { failForm, raise, requireActor } from '$lib/server/http';
import { listOpenActionItems, updateActionItem } from '$lib/server/services/action-item.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await listOpenActionItems(ctx, actor, { scope: event.url.searchParams.get('scope') ?? 'mine' });
	if (!r.ok) raise(r.error);
	return { scope: r.value.scope, items: r.value.items, me: actor.userId };
};

export const actions: Actions = {
	status: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const f = await event.request.formData();
		const r = await updateActionItem(ctx, actor, {
			id: f.get('id'),
			input: { status: f.get('status') },
			expectedVersion: f.get('version') ?? undefined
		});
		if (!r.ok) return failForm(r.error as Parameters<typeof failForm>[0], { id: String(f.get('id') ?? '') });
		return { done: 'status' };
	}
};
