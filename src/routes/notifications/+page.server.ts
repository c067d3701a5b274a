import { getApp } from '$lib/server/app';
import { failForm, raise, requireActor } from '$lib/server/http';
import { listNotifications, markAllRead, markRead } from '$lib/server/services/notification.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const before = event.url.searchParams.get('before');
	const unreadOnly = event.url.searchParams.get('show') === 'unread';
	const r = await listNotifications(ctx, actor, { before, unreadOnly });
	if (!r.ok) raise(r.error);
	return { items: r.value.items, unread: r.value.unread, more: r.value.more, before, unreadOnly };
};

export const actions: Actions = {
	read: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const form = await event.request.formData();
		const r = await markRead(ctx, actor, form.get('id'));
		if (!r.ok) return failForm(r.error);
		return { unread: r.value.unread };
	},
	readAll: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const r = await markAllRead(ctx, actor);
		if (!r.ok) return failForm(r.error);
		return { unread: 0, markedAll: r.value.marked };
	}
};
