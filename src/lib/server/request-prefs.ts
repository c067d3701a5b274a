/**
 * What a request asks for besides its route, decided the same way wherever a request is answered
 * (hooks.server.ts and the board fast path): language, theme and the security headers.
 */
import { isLocale, negotiateLocale, type Locale } from '$lib/i18n';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'same-origin',
	'x-frame-options': 'DENY',
	'permissions-policy': 'camera=(), microphone=(), geolocation=()'
};

export const LANG_COOKIE = 'warroom_lang';
export const THEME_COOKIE = 'warroom_theme';

/** The language last chosen on this browser wins (?lang=, then its cookie), then the user's setting, then Accept-Language. */
export function requestLocale(opts: {
	langParam: string | null;
	langCookie: string | undefined;
	userLocale: string | null | undefined;
	acceptLanguage: string | null | undefined;
}): Locale {
	if (isLocale(opts.langParam)) return opts.langParam;
	if (isLocale(opts.langCookie)) return opts.langCookie;
	if (isLocale(opts.userLocale)) return opts.userLocale;
	return negotiateLocale(opts.acceptLanguage);
}

export function requestTheme(cookie: string | undefined): 'dark' | 'light' | 'auto' {
	return cookie === 'dark' ? 'dark' : cookie === 'light' ? 'light' : 'auto';
}
