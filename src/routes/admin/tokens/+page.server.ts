import { getApp } from '$lib/server/app';
import { failForm, raise, requireActor } from '$lib/server/http';
import { API_SCOPES, createApiToken, listApiTokens, revokeApiToken } from '$lib/server/services/api-token.service';
import { listUsers } from '$lib/server/services/users.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const tokens = await listApiTokens(ctx, actor);
	if (!tokens.ok) raise(tokens.error);
	const users = await listUsers(ctx, actor);
	if (!users.ok) raise(users.error);
	return {
		scopes: [...API_SCOPES],
		tokens: tokens.value.map((t) => ({
			id: t.id,
			name: t.name,
			scopes: t.scopes,
			user: t.user ? `${t.user.displayName} (${t.user.username})` : '—',
			createdBy: t.createdBy?.username ?? '—',
			createdAt: t.createdAt,
			lastUsedAt: t.lastUsedAt,
			revokedAt: t.revokedAt
		})),
		users: users.value
			.filter((u) => !u.disabled)
			.map((u) => ({ id: u.id, username: u.username, displayName: u.display_name, globalRole: u.global_role })),
		me: actor.userId
	};
};

export const actions: Actions = {
	create: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const data = await event.request.formData();
		const values = {
			name: String(data.get('name') ?? ''),
			userId: String(data.get('userId') ?? ''),
			scopes: data.getAll('scopes').map(String)
		};
		const r = await createApiToken(ctx, actor, values);
		if (!r.ok) return failForm(r.error, { name: values.name, userId: values.userId, scopes: values.scopes.join(',') });
		// The only time the secret leaves the server: in this action's answer, never in `load`.
		return { created: { name: r.value.view.name, token: r.value.token } };
	},
	revoke: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const data = await event.request.formData();
		const r = await revokeApiToken(ctx, actor, { tokenId: data.get('tokenId') });
		if (!r.ok) return failForm(r.error);
		return { revoked: r.value.name };
	}
};
