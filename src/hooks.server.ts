import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { getApp, startApp } from '$lib/server/app';
import { SESSION_COOKIE, sessionCookieOptions, validateSessionToken } from '$lib/server/auth/sessions';
import { fieldWithNul, nulFieldResponse } from '$lib/server/http';
import { log } from '$lib/server/log';
import { acceptsGzip, boardPageKey } from '$lib/server/page-cache';
import { LANG_COOKIE, requestLocale, requestTheme, SECURITY_HEADERS, THEME_COOKIE } from '$lib/server/request-prefs';
import { installModules } from '$lib/server/modules';
import { actorFromUser } from '$lib/server/services/users.service';

export const init: ServerInit = async () => {
	installModules();
	try {
		await startApp();
	} catch (error) {
		// A configuration or database problem at start-up: say what is wrong and stop, don't limp on.
		const message = error instanceof Error ? error.message : String(error);
		log.error('start-up failed', { error: message });
		process.stderr.write(`\nWarroom could not start: ${message}\n\n`);
		process.exit(1);
	}
};

export const handle: Handle = async ({ event, resolve }) => {
	const app = await getApp();
	const ctx = app.ctx;
	event.locals.user = null;
	event.locals.session = null;
	event.locals.actor = null;

	const token = event.cookies.get(SESSION_COOKIE);
	if (token) {
		const valid = await validateSessionToken(ctx, token);
		if (valid) {
			event.locals.user = valid.user;
			event.locals.session = valid.session;
			event.locals.actor = actorFromUser(valid.user);
			// Sliding expiry: refresh the cookie with the session.
			event.cookies.set(
				SESSION_COOKIE,
				token,
				sessionCookieOptions(ctx, { secure: event.url.protocol === 'https:', createdAt: valid.session.created_at })
			);
		} else {
			event.cookies.delete(SESSION_COOKIE, { path: '/' });
		}
	}

	event.locals.locale = requestLocale({
		langParam: event.url.searchParams.get('lang'),
		langCookie: event.cookies.get(LANG_COOKIE),
		userLocale: event.locals.user?.locale,
		acceptLanguage: event.request.headers.get('accept-language')
	});
	event.locals.timeZone = event.locals.user?.time_zone ?? ctx.config.orgTimeZone;

	// A NUL can never be stored (PostgreSQL refuses it in text): refuse the form before any action reads it.
	const nulField = await fieldWithNul(event.request);

	const theme = requestTheme(event.cookies.get(THEME_COOKIE));
	// The placeholders are in the <html> tag: replace them there, not by scanning a whole rendered board.
	const render = () => resolve(event, { transformPageChunk: ({ html }) => fillPlaceholders(html, event.locals.locale, theme) });
	const cacheKey = boardPageKey({
		method: event.request.method,
		pathname: event.url.pathname,
		search: event.url.search,
		userId: event.locals.user?.id ?? null,
		locale: event.locals.locale,
		timeZone: event.locals.timeZone,
		theme
	});
	const response =
		nulField !== null
			? nulFieldResponse(event.request, nulField)
			: cacheKey
				? await app.pageCache.serve(
						{
							key: cacheKey,
							userId: event.locals.user?.id ?? null,
							acceptsGzip: acceptsGzip(event.request.headers.get('accept-encoding'))
						},
						render
					)
				: await render();
	for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!response.headers.has(k)) response.headers.set(k, v);
	return response;
};

function fillPlaceholders(html: string, locale: string, theme: string): string {
	const head = html.indexOf('<head');
	if (head < 0) return html.replace('%lang%', locale).replace('%theme%', theme);
	return html.slice(0, head).replace('%lang%', locale).replace('%theme%', theme) + html.slice(head);
}

export const handleError: HandleServerError = ({ error, event, status, message }) => {
	const errorId = crypto.randomUUID();
	if (status >= 500) log.error('unhandled error', { errorId, path: event.url.pathname, error });
	return { message: status >= 500 ? 'Internal error' : message, errorId };
};
