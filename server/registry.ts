import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The tiny bridge between the process (server/) and the app (the SvelteKit bundle). The app is
 * initialised once inside the bundle and registers its handlers here; server/ never imports app code,
 * so there is exactly one copy of the app's modules (and of its database connection) per process.
 */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
/**
 * A request the app may answer before the SvelteKit handler: return true to take it (the app then
 * answers it, or hands it on with `next()`), false to let the handler have it.
 */
export type InterceptHandler = (req: IncomingMessage, res: ServerResponse, next: () => void) => boolean;

export interface AppHooks {
	/** WebSocket upgrades; the app answers unknown paths with 404 and closes the socket. */
	upgrade?: UpgradeHandler;
	/** Requests answered without the SvelteKit handler (kept status-board pages). */
	intercept?: InterceptHandler;
	/** Start the scheduled jobs (called once the HTTP server listens). */
	startJobs?: () => void;
	/** Called once the HTTP server listens, with its base URL (start-up banner). */
	ready?: (baseUrl: string) => void;
	/** Stop jobs, close sockets, flush pending writes, close the database. Must be idempotent. */
	shutdown?: () => Promise<void>;
}

const KEY = Symbol.for('warroom.app-hooks');
type GlobalWithHooks = typeof globalThis & { [KEY]?: AppHooks };

export function appHooks(): AppHooks {
	const g = globalThis as GlobalWithHooks;
	g[KEY] ??= {};
	return g[KEY];
}

export function getUpgradeHandler(): UpgradeHandler | undefined {
	return appHooks().upgrade;
}
