/**
 * Channel kinds and their settings. The settings hold secrets (robot URLs carry their access
 * token, signing keys, the SMTP password), so pages only ever get `maskChannel(...)`.
 */
export const CHANNEL_KINDS = ['webhook', 'email', 'wecom', 'dingtalk', 'feishu', 'slack', 'teams'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export type HttpKind = Exclude<ChannelKind, 'email'>;

export const SMTP_SECURITY = ['starttls', 'tls', 'none'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

export interface HttpChannelConfig {
	url: string;
	/** Webhook: HMAC key (required). DingTalk/Feishu: the robot's signing secret (optional). */
	secret?: string;
}

export interface EmailChannelConfig {
	host: string;
	port: number;
	/** tls = implicit TLS (465); starttls = upgrade required (587); none = plain (a relay inside the data centre). */
	security: SmtpSecurity;
	username?: string;
	password?: string;
	from: string;
	to: string[];
}

export type ChannelConfig = HttpChannelConfig | EmailChannelConfig;

export function isHttpKind(kind: ChannelKind): kind is HttpKind {
	return kind !== 'email';
}

/** Which kinds take a signing secret, and whether it is required. */
export function secretRule(kind: ChannelKind): 'required' | 'optional' | 'none' {
	if (kind === 'webhook') return 'required';
	if (kind === 'dingtalk' || kind === 'feishu') return 'optional';
	return 'none';
}

/** A signing secret shorter than this is too easy to guess for the generic webhook. */
export const WEBHOOK_SECRET_MIN_LENGTH = 16;

const DOTS = '••••••••';

/** Shows that a secret is set and its last four characters (so an admin can tell two apart). */
export function maskSecret(secret: string | undefined | null): string | null {
	if (!secret) return null;
	return secret.length >= 12 ? DOTS + secret.slice(-4) : DOTS;
}

/**
 * Robot URLs are secrets (WeCom's `key=`, DingTalk's `access_token=`, Feishu's and Slack's path
 * all authorise posting), so only the origin and the last four characters are shown.
 */
export function maskUrl(url: string | undefined | null): string | null {
	if (!url) return null;
	try {
		const u = new URL(url);
		const rest = url.slice(u.origin.length);
		if (rest.length <= 1) return u.origin + rest;
		return `${u.origin}/${DOTS}${rest.length > 12 ? rest.slice(-4) : ''}`;
	} catch {
		return DOTS;
	}
}

/** Only http and https; the host must be present (no `http:foo`). */
export function httpUrlProblem(raw: string): 'invalid_url' | 'invalid_scheme' | undefined {
	let u: URL;
	try {
		u = new URL(raw);
	} catch {
		return 'invalid_url';
	}
	if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'invalid_scheme';
	if (!u.hostname) return 'invalid_url';
	return undefined;
}

export interface ChannelSettingsView {
	url: string | null;
	secret: string | null;
	host: string | null;
	port: number | null;
	security: SmtpSecurity | null;
	username: string | null;
	password: string | null;
	from: string | null;
	to: string[];
}

/** What the admin page may see of a channel's settings. */
export function maskConfig(kind: ChannelKind, config: Record<string, unknown>): ChannelSettingsView {
	const str = (k: string) => (typeof config[k] === 'string' ? (config[k] as string) : undefined);
	if (isHttpKind(kind))
		return {
			url: maskUrl(str('url')),
			secret: maskSecret(str('secret')),
			host: null,
			port: null,
			security: null,
			username: null,
			password: null,
			from: null,
			to: []
		};
	return {
		url: null,
		secret: null,
		host: str('host') ?? null,
		port: typeof config.port === 'number' ? config.port : null,
		security: (str('security') as SmtpSecurity | undefined) ?? null,
		username: str('username') ?? null,
		password: str('password') ? DOTS : null,
		from: str('from') ?? null,
		to: Array.isArray(config.to) ? config.to.filter((x): x is string => typeof x === 'string') : []
	};
}
