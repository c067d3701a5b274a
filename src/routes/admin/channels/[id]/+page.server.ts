import { redirect } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { failForm, raise, requireActor } from '$lib/server/http';
import { deleteChannel, getChannel, retryDelivery, saveChannel, sendTest } from '$lib/server/services/notification.service';
import { channelInput, formOptions } from '../form.server';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await getChannel(ctx, actor, event.params.id);
	if (!r.ok) raise(r.error);
	return { channel: r.value.channel, deliveries: r.value.deliveries, created: event.url.searchParams.has('created'), ...formOptions() };
};

export const actions: Actions = {
	save: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const { input, echo } = channelInput(await event.request.formData());
		const r = await saveChannel(ctx, actor, { id: event.params.id, input });
		if (!r.ok) return failForm(r.error, echo);
		return { saved: r.value.name };
	},
	test: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const r = await sendTest(ctx, actor, event.params.id);
		if (!r.ok) return failForm(r.error);
		const d = r.value;
		return { test: { status: d.status, code: d.lastStatusCode, error: d.lastError } };
	},
	retry: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const id = (await event.request.formData()).get('delivery');
		const r = await retryDelivery(ctx, actor, typeof id === 'string' ? id : '');
		if (!r.ok) return failForm(r.error);
		return { retried: true };
	},
	delete: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const r = await deleteChannel(ctx, actor, event.params.id);
		if (!r.ok) return failForm(r.error);
		redirect(303, `/admin/channels?deleted=${encodeURIComponent(r.value.name)}`);
	}
};
