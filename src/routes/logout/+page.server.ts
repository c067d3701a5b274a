import { redirect } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { SESSION_COOKIE } from '$lib/server/auth/sessions';
import { logout } from '$lib/server/services/auth.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => redirect(303, '/');

export const actions: Actions = {
	default: async ({ locals, cookies }) => {
		const { ctx } = await getApp();
		if (locals.session) await logout(ctx, locals.session);
		cookies.delete(SESSION_COOKIE, { path: '/' });
		redirect(303, '/login?loggedOut');
	}
};
