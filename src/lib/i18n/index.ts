import { IntlMessageFormat } from 'intl-messageformat';
import { LOCALES, type Catalogue, type Locale } from './define';

export { LOCALES, type Locale } from './define';

const modules = import.meta.glob<{ default: { en: Catalogue; 'zh-CN': Catalogue } }>('./messages/*.ts', { eager: true });

export const catalogues: Record<Locale, Catalogue> = { 'zh-CN': {}, en: {} };
for (const [file, mod] of Object.entries(modules)) {
	for (const locale of LOCALES) {
		for (const [key, value] of Object.entries(mod.default[locale])) {
			if (key in catalogues[locale]) throw new Error(`i18n: duplicate key ${key} in ${file}`);
			catalogues[locale][key] = value;
		}
	}
}

export function isLocale(v: unknown): v is Locale {
	return typeof v === 'string' && (LOCALES as readonly string[]).includes(v);
}

/** Picks zh-CN or en from an Accept-Language header (q-values respected); zh-CN is the default. */
export function negotiateLocale(acceptLanguage: string | null | undefined): Locale {
	if (!acceptLanguage) return 'zh-CN';
	const ranked = acceptLanguage
		.split(',')
		.map((part) => {
			const [tag = '', ...params] = part.trim().split(';');
			const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
			return { tag: tag.toLowerCase(), q: q ? Number(q.slice(2)) || 0 : 1 };
		})
		.filter((x) => x.tag && x.q > 0)
		.sort((a, b) => b.q - a.q);
	for (const { tag } of ranked) {
		if (tag.startsWith('zh')) return 'zh-CN';
		if (tag.startsWith('en')) return 'en';
	}
	return 'zh-CN';
}

export type Params = Record<string, string | number | Date | boolean | null | undefined>;

interface Compiled {
	fmt: IntlMessageFormat;
	/** A message without arguments formats to the same text every time: kept, not re-formatted. */
	fixed: string | null;
}

/** Per locale, per key: compiled once (a page of the board formats thousands of messages). */
const compiled: Record<Locale, Map<string, Compiled>> = { 'zh-CN': new Map(), en: new Map() };
const warned = new Set<string>();
/** `TYPE.literal` of the ICU message AST (@formatjs/icu-messageformat-parser, which intl-messageformat wraps). */
const LITERAL_ELEMENT = 0;

function compile(locale: Locale, source: string): Compiled {
	// No rich-text tags: a message may show `<token>` literally (Svelte escapes the result anyway).
	const fmt = new IntlMessageFormat(source, locale, undefined, { ignoreTag: true });
	const fixed = fmt.getAst().every((el) => (el.type as number) === LITERAL_ELEMENT) ? String(fmt.format()) : null;
	return { fmt, fixed };
}

export function translate(locale: Locale, key: string, params?: Params): string {
	let c = compiled[locale].get(key);
	if (!c) {
		const source = catalogues[locale][key] ?? catalogues.en[key];
		if (source === undefined) return key;
		c = compile(locale, source);
		compiled[locale].set(key, c);
	}
	if (c.fixed !== null) return c.fixed;
	const fmt = c.fmt;
	const values: Record<string, string | number | Date | boolean> = {};
	if (params) for (const [k, v] of Object.entries(params)) values[k] = v ?? '';
	try {
		return String(fmt.format(values));
	} catch (error) {
		// A missing parameter is a programming error, but a war room must not go blank over it:
		// show the message with what is known and leave the rest visible as {name}.
		const warnKey = `${locale}\u0000${key}`;
		if (!warned.has(warnKey)) {
			warned.add(warnKey);
			console.warn(`i18n: ${key} (${locale}): ${error instanceof Error ? error.message : String(error)}`);
		}
		const source = catalogues[locale][key] ?? catalogues.en[key] ?? key;
		return source.replace(/\{(\w+)\}/g, (m, name: string) => (name in values ? String(values[name]) : m));
	}
}

export interface I18n {
	locale: Locale;
	timeZone: string;
	t(key: string, params?: Params): string;
	dateTime(value: Date | string | number | null | undefined): string;
	time(value: Date | string | number | null | undefined): string;
	duration(ms: number): string;
}

const instances = new Map<string, I18n>();

/** The translator for a language and time zone: one per pair (pure, and its formatters are costly to build). */
export function createI18n(locale: Locale, timeZone: string): I18n {
	const key = `${locale}\u0000${timeZone}`;
	let i18n = instances.get(key);
	if (!i18n) {
		i18n = buildI18n(locale, timeZone);
		// Time zones come from user settings: bounded anyway, but never let the map grow without limit.
		if (instances.size >= 500) instances.clear();
		instances.set(key, i18n);
	}
	return i18n;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** An Intl.DateTimeFormat for these options, built once (building one costs far more than using it). */
export function dateFormat(locale: Locale, timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
	const key = `${locale}\u0000${timeZone}\u0000${JSON.stringify(options)}`;
	let f = dateFormats.get(key);
	if (!f) {
		f = new Intl.DateTimeFormat(locale, { ...options, timeZone });
		if (dateFormats.size >= 2000) dateFormats.clear();
		dateFormats.set(key, f);
	}
	return f;
}

function buildI18n(locale: Locale, timeZone: string): I18n {
	const dt = new Intl.DateTimeFormat(locale, {
		timeZone,
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		hour12: false
	});
	const tm = new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
	const toDate = (v: Date | string | number) => (v instanceof Date ? v : new Date(v));
	return {
		locale,
		timeZone,
		t: (key, params) => translate(locale, key, params),
		dateTime: (v) => (v == null ? '—' : dt.format(toDate(v))),
		time: (v) => (v == null ? '—' : tm.format(toDate(v))),
		duration: (ms) => formatDuration(locale, ms)
	};
}

/** 1 d 2 h, 3 h 05 min, 12 min, 45 s — in the user's language. */
export function formatDuration(locale: Locale, ms: number): string {
	const sign = ms < 0 ? '-' : '';
	let s = Math.floor(Math.abs(ms) / 1000);
	const d = Math.floor(s / 86_400);
	s -= d * 86_400;
	const h = Math.floor(s / 3600);
	s -= h * 3600;
	const m = Math.floor(s / 60);
	s -= m * 60;
	const zh = locale === 'zh-CN';
	const u = zh ? { d: '天', h: '小时', m: '分钟', s: '秒' } : { d: ' d', h: ' h', m: ' min', s: ' s' };
	const sep = zh ? '' : ' ';
	if (d > 0) return `${sign}${d}${u.d}${sep}${h}${u.h}`;
	if (h > 0) return `${sign}${h}${u.h}${sep}${String(m).padStart(2, '0')}${u.m}`;
	if (m > 0) return `${sign}${m}${u.m}`;
	return `${sign}${s}${u.s}`;
}
