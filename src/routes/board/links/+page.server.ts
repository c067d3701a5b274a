import { getApp } from '$lib/server/app';
import { failForm, formValues, raise, requireActor } from '$lib/server/http';
import { createShareLink, listShareLinks, revokeShareLink, SHARE_DEFAULT_HOURS } from '$lib/server/services/board.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await listShareLinks(ctx, actor);
	if (!r.ok) raise(r.error);
	return { links: r.value, defaultHours: SHARE_DEFAULT_HOURS };
};

export const actions: Actions = {
	create: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const values = formValues(await event.request.formData());
		const r = await createShareLink(ctx, actor, { label: values.label, expiresInHours: values.expiresInHours });
		if (!r.ok) return failForm(r.error, values);
		// Shown once: only the hash of the secret is kept.
		return { created: { url: `${event.url.origin}/board/share/${r.value.token}`, label: r.value.link.label } };
	},
	revoke: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const form = await event.request.formData();
		const r = await revokeShareLink(ctx, actor, { id: form.get('id') });
		if (!r.ok) return failForm(r.error);
		return { revoked: true };
	}
};
