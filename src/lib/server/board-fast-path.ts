/**
 * The fast path for kept status-board pages (issue 7): a request for `/board`, the kiosk or a share
 * link whose page is in the page cache is answered straight from Node's request, without building a
 * web Request, running SvelteKit's router and hooks, and converting a Response back. It decides who
 * asks exactly as hooks.server.ts does (the same session validation, language, zone and theme, see
 * request-prefs.ts) and anything it cannot answer from the cache — no page kept, no valid session,
 * another method — goes on to SvelteKit untouched (which renders and keeps the page).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from './app';
import { SESSION_COOKIE, validateSessionToken } from './auth/sessions';
import { log } from './log';
import { acceptsGzip, boardPageKey, isBoardPage } from './page-cache';
import { LANG_COOKIE, requestLocale, requestTheme, SECURITY_HEADERS, THEME_COOKIE } from './request-prefs';

/** Cookie header → values, decoded the way SvelteKit's cookie parser decodes them (first one wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
	const out = new Map<string, string>();
	if (!header) return out;
	for (const part of header.split(';')) {
		const eq = part.indexOf('=');
		if (eq < 0) continue;
		const name = part.slice(0, eq).trim();
		if (!name || out.has(name)) continue;
		let value = part.slice(eq + 1).trim();
		if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
		try {
			out.set(name, decodeURIComponent(value));
		} catch {
			out.set(name, value);
		}
	}
	return out;
}

/** The transport's intercept hook: true when it took the request (answering it or handing it on). */
export function boardFastPath(app: App): (req: IncomingMessage, res: ServerResponse, next: () => void) => boolean {
	return (req, res, next) => {
		if (req.method !== 'GET' || !app.pageCache.enabled) return false;
		const raw = req.url ?? '/';
		const q = raw.indexOf('?');
		if (!isBoardPage(q < 0 ? raw : raw.slice(0, q))) return false;
		answerFromCache(app, req, res).then(
			(answered) => answered || next(),
			(error: unknown) => {
				log.warn('board fast path failed; handing the request on', { error: String(error) });
				if (!res.headersSent) next();
			}
		);
		return true;
	};
}

async function answerFromCache(app: App, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
	// The same URL SvelteKit builds (percent-encoding and query normalised by WHATWG URL).
	const url = new URL(req.url ?? '/', 'http://localhost');
	const cookies = parseCookies(req.headers.cookie);
	const token = cookies.get(SESSION_COOKIE);
	let user = null;
	if (token) {
		const valid = await validateSessionToken(app.ctx, token);
		// An ended session: SvelteKit clears the cookie and sends the viewer to sign in.
		if (!valid) return false;
		user = valid.user;
	}
	const locale = requestLocale({
		langParam: url.searchParams.get('lang'),
		langCookie: cookies.get(LANG_COOKIE),
		userLocale: user?.locale,
		acceptLanguage: req.headers['accept-language']
	});
	const key = boardPageKey({
		method: 'GET',
		pathname: url.pathname,
		search: url.search,
		userId: user?.id ?? null,
		locale,
		timeZone: user?.time_zone ?? app.ctx.config.orgTimeZone,
		theme: requestTheme(cookies.get(THEME_COOKIE))
	});
	if (!key) return false;
	const page = app.pageCache.kept(key, acceptsGzip(req.headers['accept-encoding'] ?? null));
	if (!page) return false;
	const names = new Set(page.headers.map(([name]) => name));
	const headers: [string, string][] = [...page.headers];
	for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!names.has(name)) headers.push([name, value]);
	res.writeHead(page.status, headers.flat());
	res.end(page.body);
	return true;
}
