/**
 * The app, initialised exactly once per process (from hooks.server.ts `init`): configuration,
 * database and migrations, demo data, the WebSocket upgrade routes, the scheduled jobs, and an
 * idempotent shutdown. Everything registers with server/'s registry; server/ imports none of this.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { appHooks } from '../../../server/registry';
import { loadConfig, type Config } from './config';
import type { AppContext } from './context';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './db/index';
import { DEMO_ACCOUNTS, DEMO_PASSWORD, seedDemo } from './demo';
import { EventBus } from './events';
import { startEventRelay } from './event-relay';
import { log, setLogLevel } from './log';
import { PageCache } from './page-cache';
import { boardFastPath } from './board-fast-path';
import { SESSION_COOKIE } from './auth/sessions';

export type UpgradeRoute = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

export interface App {
	ctx: AppContext;
	database: DatabaseHandle;
	startedAt: Date;
	version: string;
	/** Path prefix → handler. */
	upgradeRoutes: Map<string, UpgradeRoute>;
	/** Rendered status-board pages, per viewer (see page-cache.ts). */
	pageCache: PageCache;
	/** Things to stop on shutdown, in reverse order of registration. */
	onShutdown(fn: () => Promise<void> | void): void;
	/** Scheduled jobs register here; they start once the server listens. */
	onStartJobs(fn: () => void): void;
	shutdown(): Promise<void>;
}

const KEY = Symbol.for('warroom.app');
type G = typeof globalThis & { [KEY]?: Promise<App> };

export const VERSION = '0.1.0';

/** Extra start-up steps (collab, jobs, playbook loader, demo incidents) plug in here. */
export type AppModule = (app: App) => Promise<void> | void;
const modules: AppModule[] = [];
const demoSteps: ((ctx: AppContext) => Promise<void>)[] = [];
export function registerModule(m: AppModule): void {
	modules.push(m);
}
export function registerDemoStep(step: (ctx: AppContext) => Promise<void>): void {
	demoSteps.push(step);
}

export function getApp(): Promise<App> {
	const g = globalThis as G;
	if (!g[KEY]) throw new Error('The app is not started');
	return g[KEY];
}

export function startApp(env: Record<string, string | undefined> = process.env): Promise<App> {
	const g = globalThis as G;
	g[KEY] ??= boot(loadConfig(env));
	return g[KEY];
}

async function boot(config: Config): Promise<App> {
	setLogLevel(config.logLevel);
	const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
	await migrateToLatest(database.db);
	if (database.kind === 'pglite')
		log.info('using the embedded PGlite database (one process by design; set DATABASE_URL for PostgreSQL and scale-out)', {
			dataDir: config.dataDir
		});
	else log.info('using PostgreSQL');

	const ctx: AppContext = { db: database.db, dbKind: database.kind, config, events: new EventBus(), now: () => new Date() };
	const stops: (() => Promise<void> | void)[] = [];
	const jobStarters: (() => void)[] = [];
	let shuttingDown: Promise<void> | undefined;
	const app: App = {
		ctx,
		database,
		startedAt: new Date(),
		version: VERSION,
		upgradeRoutes: new Map(),
		pageCache: new PageCache(ctx.events, { maxAgeMs: config.pageCacheMs, sessionCookie: SESSION_COOKIE }),
		onShutdown: (fn) => stops.push(fn),
		onStartJobs: (fn) => jobStarters.push(fn),
		shutdown() {
			shuttingDown ??= (async () => {
				for (const stop of stops.reverse()) {
					try {
						await stop();
					} catch (error) {
						log.error('shutdown step failed', { error });
					}
				}
				await database.close();
				log.info('app stopped');
			})();
			return shuttingDown;
		}
	};

	// Several processes on one PostgreSQL database hear each other's events (event-relay.ts). Registered
	// first, so it stops last: whatever the other steps publish on the way down still goes out.
	if (database.kind === 'postgres' && database.connectionString) {
		const relay = await startEventRelay({ events: ctx.events, db: database.db, connectionString: database.connectionString });
		app.onShutdown(() => relay.stop());
		log.info('events: sharing the event bus with other processes through LISTEN/NOTIFY', { node: relay.nodeId });
	}

	for (const m of modules) await m(app);

	let seeded = false;
	if (config.demo) seeded = await seedDemo(ctx, demoSteps);

	const hooks = appHooks();
	hooks.upgrade = (req, socket, head) => {
		let url: URL;
		try {
			url = new URL(req.url ?? '/', 'http://localhost');
		} catch {
			socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
			return;
		}
		for (const [prefix, route] of app.upgradeRoutes) {
			if (url.pathname.startsWith(prefix)) return route(req, socket, head, url);
		}
		socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
	};
	// Kept status-board pages are answered before SvelteKit (board-fast-path.ts).
	hooks.intercept = boardFastPath(app);
	hooks.startJobs = () => {
		if (!config.jobsEnabled) return log.info('scheduled jobs are off in this process (WARROOM_JOBS=0)');
		for (const start of jobStarters) start();
	};
	hooks.ready = (baseUrl) => {
		const url = config.origin ?? baseUrl;
		log.info('warroom ready', { url, database: database.kind, demo: config.demo });
		if (config.demo) {
			const lines = [
				'',
				`  Warroom is running at ${url}`,
				`  Demo mode${seeded ? ' (demo data created)' : ''}. Sign in with any of these accounts, password "${DEMO_PASSWORD}":`,
				...DEMO_ACCOUNTS.map((a) => `    ${a.username.padEnd(11)} ${a.globalRole}`),
				''
			];
			process.stdout.write(lines.join('\n') + '\n');
		}
	};
	hooks.shutdown = () => app.shutdown();
	return app;
}
