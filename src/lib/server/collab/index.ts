/**
 * The collaboration module: registers `/collab/` with the app's upgrade routes, makes the rooms the
 * app's `ctx.collab`, and closes sockets and flushes pending writes on shutdown. See docs/collab.md.
 */
import type { App } from '../app';
import { log } from '../log';
import { createCollabServer, COLLAB_PATH_PREFIX, type CollabServer } from './collab-server';
import { warmUpCollab } from './warmup';

export { setAccessResolver, defaultAccessResolver, type AccessResolver, type RoomAccess, type RoomPolicy, type RoomUser } from './access';
export { createCollabServer, type CollabServer, type CollabServerOptions } from './collab-server';

/** Loaded rooms, open sockets, and commits/rows/compactions since start: plain counts, no names. */
export interface CollabStats {
	rooms: number;
	/** Of those, rooms whose document hibernates (idle: only its encoded state is kept). */
	hibernating: number;
	connections: number;
	commits: number;
	rows: number;
	/** Compactions of rooms' logs into snapshots; of those, the ones that decoded the stored log (not the room's document). */
	compactions: number;
	compactionsDecoded: number;
}

const servers = new WeakMap<App, CollabServer>();

export function collabStats(app: App): CollabStats | undefined {
	const server = servers.get(app);
	if (!server) return undefined;
	return {
		rooms: server.rooms.loadedRoomNames().length,
		hibernating: server.rooms.hibernatingCount(),
		connections: server.connectionCount(),
		...server.rooms.counters
	};
}

export async function installCollab(app: App): Promise<void> {
	const server = createCollabServer(app.ctx);
	await server.start();
	// Before the first upgrade is routed here: the first clients after a restart run compiled code (warmup.ts).
	const warm = await warmUpCollab(app.ctx);
	log.info("collab: warmed up the paths of a room's first clients", {
		ms: Math.round(warm.ms),
		rounds: warm.rounds,
		queries: warm.queries
	});
	servers.set(app, server);
	app.ctx.collab = server.port;
	app.upgradeRoutes.set(COLLAB_PATH_PREFIX, (req, socket, head, url) => server.handleUpgrade(req, socket, head, url));
	app.onShutdown(() => server.close());
	if (app.ctx.dbKind === 'postgres') log.info('collab: sharing rooms with other processes through LISTEN/NOTIFY');
}
