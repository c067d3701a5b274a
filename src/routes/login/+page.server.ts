import { fail, redirect } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { SESSION_COOKIE, sessionCookieOptions } from '$lib/server/auth/sessions';
import { clientAddress } from '$lib/server/http';
import { LANG_COOKIE } from '$lib/server/request-prefs';
import { login } from '$lib/server/services/auth.service';
import type { Actions, PageServerLoad } from './$types';

function safeNext(next: string | null): string {
	// Only same-site paths: never redirect to another host after login.
	return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

export const load: PageServerLoad = ({ locals, url }) => {
	if (locals.user) redirect(303, safeNext(url.searchParams.get('next')));
	return { next: safeNext(url.searchParams.get('next')), loggedOut: url.searchParams.has('loggedOut') };
};

export const actions: Actions = {
	default: async (event) => {
		const { ctx } = await getApp();
		const form = await event.request.formData();
		const username = String(form.get('username') ?? '');
		const password = String(form.get('password') ?? '');
		const result = await login(ctx, {
			username,
			password,
			ip: clientAddress(event, ctx.config.trustProxy),
			userAgent: event.request.headers.get('user-agent')
		});
		if (!result.ok) {
			const e = result.error;
			return fail(e.code === 'throttled' ? 429 : e.code === 'invalid_input' ? 400 : 401, {
				username: username.slice(0, 100),
				code: e.code,
				seconds: e.code === 'throttled' ? e.params.seconds : undefined
			});
		}
		// Session fixation: whatever cookie came in is replaced by a brand-new session.
		event.cookies.set(
			SESSION_COOKIE,
			result.value.token,
			sessionCookieOptions(ctx, { secure: event.url.protocol === 'https:', createdAt: result.value.session.created_at })
		);
		if (!event.cookies.get(LANG_COOKIE))
			event.cookies.set(LANG_COOKIE, result.value.user.locale, {
				path: '/',
				httpOnly: false,
				sameSite: 'lax',
				maxAge: 31_536_000,
				secure: event.url.protocol === 'https:'
			});
		redirect(303, safeNext(String(form.get('next') ?? '/')));
	}
};
