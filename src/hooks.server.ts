import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { isLocale, negotiateLocale } from '$lib/i18n';
import { getApp, startApp } from '$lib/server/app';
import { SESSION_COOKIE, sessionCookieOptions, validateSessionToken } from '$lib/server/auth/sessions';
import { log } from '$lib/server/log';
import { acceptsGzip } from '$lib/server/page-cache';
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

const SECURITY_HEADERS: Record<string, string> = {
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'same-origin',
	'x-frame-options': 'DENY',
	'permissions-policy': 'camera=(), microphone=(), geolocation=()'
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

	// The language last chosen on this browser wins, then the user's setting, then Accept-Language.
	const langCookie = event.cookies.get('warroom_lang');
	const langParam = event.url.searchParams.get('lang');
	event.locals.locale = isLocale(langParam)
		? langParam
		: isLocale(langCookie)
			? langCookie
			: (event.locals.user?.locale ?? negotiateLocale(event.request.headers.get('accept-language')));
	event.locals.timeZone = event.locals.user?.time_zone ?? ctx.config.orgTimeZone;

	const theme = event.cookies.get('warroom_theme') === 'dark' ? 'dark' : event.cookies.get('warroom_theme') === 'light' ? 'light' : 'auto';
	// The placeholders are in the <html> tag: replace them there, not by scanning a whole rendered board.
	const render = () => resolve(event, { transformPageChunk: ({ html }) => fillPlaceholders(html, event.locals.locale, theme) });
	const cacheKey = boardPageKey(event, theme);
	const response = cacheKey
		? await app.pageCache.serve(
				{ key: cacheKey, userId: event.locals.user?.id ?? null, acceptsGzip: acceptsGzip(event.request.headers.get('accept-encoding')) },
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

/** Status-board pages (and their client-navigation data) are the only ones kept rendered: see page-cache.ts. */
const BOARD_PAGE = /^\/board(?:\/kiosk|\/share\/[A-Za-z0-9_-]{1,200})?(?:\/__data\.json)?$/;

function boardPageKey(event: Parameters<Handle>[0]['event'], theme: string): string | null {
	if (event.request.method !== 'GET' || !BOARD_PAGE.test(event.url.pathname)) return null;
	const user = event.locals.user;
	// Signed-in pages are the viewer's; share links are the token's (anyone holding it sees the same).
	if (!user && !event.url.pathname.startsWith('/board/share/')) return null;
	return [event.url.pathname, event.url.search, user?.id ?? '-', event.locals.locale, event.locals.timeZone, theme].join('\n');
}

export const handleError: HandleServerError = ({ error, event, status, message }) => {
	const errorId = crypto.randomUUID();
	if (status >= 500) log.error('unhandled error', { errorId, path: event.url.pathname, error });
	return { message: status >= 500 ? 'Internal error' : message, errorId };
};
