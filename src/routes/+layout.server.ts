import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = ({ locals, cookies }) => {
	const u = locals.user;
	return {
		locale: locals.locale,
		timeZone: locals.timeZone,
		theme: (cookies.get('warroom_theme') ?? 'auto') as 'auto' | 'light' | 'dark',
		user: u ? { id: u.id, username: u.username, displayName: u.display_name, globalRole: u.global_role } : null
	};
};
