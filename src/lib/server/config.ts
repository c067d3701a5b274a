/**
 * The only module that reads the environment (DESIGN.md §5). It validates everything once, at
 * start-up, and fails fast with a message that names the variable. `.env.example` lists every one.
 */
import path from 'node:path';

export interface Config {
	/** PostgreSQL connection string; when absent, the embedded PGlite database in `dataDir` is used. */
	databaseUrl: string | undefined;
	dataDir: string;
	port: number;
	/** The public origin (scheme://host[:port]) browsers use; WebSocket upgrades must come from it. */
	origin: string | undefined;
	/** Extra origins allowed to open the collab socket (comma-separated). */
	allowedOrigins: string[];
	sessionIdleTimeoutMs: number;
	sessionAbsoluteTimeoutMs: number;
	demo: boolean;
	logLevel: 'debug' | 'info' | 'warn' | 'error';
	/** Organisation's time zone for incident numbers and monthly reports. */
	orgTimeZone: string;
	/** Run the scheduled jobs in this process (turn off on extra web-only nodes). */
	jobsEnabled: boolean;
	/** Trust X-Forwarded-For for the client address (login throttling); only behind a proxy you run. */
	trustProxy: boolean;
	/** Where the contingency playbooks (*.yaml) are read from at start-up (WARROOM_PLAYBOOKS_DIR). */
	playbooksDir: string;
	/**
	 * How long a rendered status-board page may be served again to the same viewer
	 * (WARROOM_PAGE_CACHE_MS; 0 = render every request). Any change drops it sooner.
	 */
	pageCacheMs: number;
}

export class ConfigError extends Error {
	constructor(
		readonly variable: string,
		message: string
	) {
		super(`Invalid configuration: ${variable} ${message}`);
		this.name = 'ConfigError';
	}
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
	const raw = env[name];
	if (raw === undefined || raw.trim() === '') return fallback;
	if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number (got "${raw}")`);
	const n = Number(raw);
	if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${n})`);
	return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
	const raw = env[name]?.trim().toLowerCase();
	if (raw === undefined || raw === '') return fallback;
	if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
	if (['0', 'false', 'no', 'off'].includes(raw)) return false;
	throw new ConfigError(name, `must be 1/0, true/false, yes/no or on/off (got "${env[name]}")`);
}

function originOf(name: string, raw: string): string {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new ConfigError(name, `must be an origin such as https://warroom.example.com (got "${raw}")`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, `must use http or https (got "${url.protocol}")`);
	return url.origin;
}

export function loadConfig(env: Env = process.env): Config {
	const databaseUrl = env.DATABASE_URL?.trim() || undefined;
	if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl))
		throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');

	const origin = env.ORIGIN?.trim() ? originOf('ORIGIN', env.ORIGIN.trim()) : undefined;
	const allowedOrigins = (env.WARROOM_ALLOWED_ORIGINS ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean)
		.map((s) => originOf('WARROOM_ALLOWED_ORIGINS', s));

	const logLevel = (env.LOG_LEVEL?.trim() || 'info') as Config['logLevel'];
	if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
		throw new ConfigError('LOG_LEVEL', `must be debug, info, warn or error (got "${logLevel}")`);

	const orgTimeZone = env.WARROOM_TIME_ZONE?.trim() || 'Asia/Shanghai';
	try {
		new Intl.DateTimeFormat('en', { timeZone: orgTimeZone });
	} catch {
		throw new ConfigError('WARROOM_TIME_ZONE', `must be an IANA time zone such as Asia/Shanghai (got "${orgTimeZone}")`);
	}

	const idleMin = int(env, 'SESSION_IDLE_TIMEOUT_MINUTES', 12 * 60, 5, 60 * 24 * 30);
	const absHours = int(env, 'SESSION_ABSOLUTE_TIMEOUT_HOURS', 24 * 7, 1, 24 * 90);
	if (idleMin * 60_000 > absHours * 3_600_000)
		throw new ConfigError('SESSION_IDLE_TIMEOUT_MINUTES', 'must not exceed SESSION_ABSOLUTE_TIMEOUT_HOURS');

	return {
		databaseUrl,
		dataDir: path.resolve(env.WARROOM_DATA_DIR?.trim() || './data'),
		port: int(env, 'PORT', 3000, 0, 65535),
		origin,
		allowedOrigins,
		sessionIdleTimeoutMs: idleMin * 60_000,
		sessionAbsoluteTimeoutMs: absHours * 3_600_000,
		demo: bool(env, 'WARROOM_DEMO', false),
		logLevel,
		orgTimeZone,
		jobsEnabled: bool(env, 'WARROOM_JOBS', true),
		trustProxy: bool(env, 'WARROOM_TRUST_PROXY', false),
		playbooksDir: path.resolve(env.WARROOM_PLAYBOOKS_DIR?.trim() || './playbooks'),
		pageCacheMs: int(env, 'WARROOM_PAGE_CACHE_MS', 5000, 0, 60_000)
	};
}
