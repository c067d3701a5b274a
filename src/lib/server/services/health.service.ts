import { ping } from '../db/index';
import type { App } from '../app';
import { collabStats, type CollabStats } from '../collab';
import type { CollabSaveState } from '../context';

export interface Health {
	/** `degraded` when the database does not answer or the collaboration server cannot commit. */
	status: 'ok' | 'degraded';
	database: { reachable: boolean; kind: string };
	/** Present when the collaboration server runs: `saving: 'failing'` while its commits fail (retried). */
	collab?: CollabSaveState;
	version: string;
	uptimeSeconds: number;
	/** Counts only (no incident ids): rooms loaded in this process, open sockets, commits and log rows since start. */
	collabStats?: CollabStats;
}

/**
 * `detailed`: add the collaboration counts — for the operator (a request from this machine that did
 * not come through a proxy) or an administrator, not for anyone who can reach the URL.
 */
export async function health(app: App, opts: { detailed?: boolean } = {}): Promise<Health> {
	const reachable = await ping(app.ctx.db);
	const collab = app.ctx.collab?.saveState?.();
	return {
		status: reachable && collab?.saving !== 'failing' ? 'ok' : 'degraded',
		database: { reachable, kind: app.database.kind },
		...(collab ? { collab } : {}),
		version: app.version,
		uptimeSeconds: Math.round((Date.now() - app.startedAt.getTime()) / 1000),
		...(opts.detailed ? { collabStats: collabStats(app) } : {})
	};
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** A request from this machine itself, not relayed by a proxy (which would also connect from loopback). */
export function isLocalOperator(address: string, headers: Headers): boolean {
	return LOOPBACK.has(address) && !headers.has('x-forwarded-for') && !headers.has('forwarded');
}
