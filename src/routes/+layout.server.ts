import { getApp } from '$lib/server/app';
import { THEME_COOKIE, requestTheme } from '$lib/server/request-prefs';
import { unreadCount } from '$lib/server/services/notification.service';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async ({ locals, cookies }) => {
	const u = locals.user;
	return {
		locale: locals.locale,
		timeZone: locals.timeZone,
		theme: requestTheme(cookies.get(THEME_COOKIE)),
		user: u ? { id: u.id, username: u.username, displayName: u.display_name, globalRole: u.global_role } : null,
		unread: locals.actor ? await unreadCount((await getApp()).ctx, locals.actor) : 0
	};
};
