import { redirect } from '@sveltejs/kit';
import { isLocale } from '$lib/i18n';
import { getApp } from '$lib/server/app';
import { LANG_COOKIE, THEME_COOKIE } from '$lib/server/request-prefs';
import { updateOwnPreferences } from '$lib/server/services/users.service';
import type { Actions, PageServerLoad } from './$types';

function back(form: FormData): string {
	const r = String(form.get('returnTo') ?? '/');
	return r.startsWith('/') && !r.startsWith('//') ? r : '/';
}

export const load: PageServerLoad = () => redirect(303, '/');

const YEAR_S = 31_536_000;

export const actions: Actions = {
	lang: async ({ request, cookies, locals, url }) => {
		const form = await request.formData();
		const lang = form.get('lang');
		if (isLocale(lang)) {
			cookies.set(LANG_COOKIE, lang, { path: '/', httpOnly: false, sameSite: 'lax', maxAge: YEAR_S, secure: url.protocol === 'https:' });
			if (locals.actor) await updateOwnPreferences((await getApp()).ctx, locals.actor, { locale: lang });
		}
		redirect(303, back(form));
	},
	theme: async ({ request, cookies, url }) => {
		const form = await request.formData();
		const theme = String(form.get('theme'));
		if (['auto', 'light', 'dark'].includes(theme))
			cookies.set(THEME_COOKIE, theme, {
				path: '/',
				httpOnly: false,
				sameSite: 'lax',
				maxAge: YEAR_S,
				secure: url.protocol === 'https:'
			});
		redirect(303, back(form));
	}
};
