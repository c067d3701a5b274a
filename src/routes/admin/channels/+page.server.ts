import { redirect } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { failForm, raise, requireActor } from '$lib/server/http';
import { listChannels, saveChannel } from '$lib/server/services/notification.service';
import { channelInput, formOptions } from './form.server';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await listChannels(ctx, actor);
	if (!r.ok) raise(r.error);
	return {
		channels: r.value.channels,
		recentFailures: r.value.recentFailures,
		deleted: event.url.searchParams.get('deleted'),
		...formOptions()
	};
};

export const actions: Actions = {
	create: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const { input, echo } = channelInput(await event.request.formData());
		const r = await saveChannel(ctx, actor, { input });
		if (!r.ok) return failForm(r.error, echo);
		redirect(303, `/admin/channels/${r.value.id}?created=1`);
	}
};
