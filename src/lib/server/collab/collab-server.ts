/**
 * `/collab/<incidentId>`: the y-websocket endpoint. Everything is decided before the upgrade (session
 * cookie, Origin, per-incident access, per-user connection limit); a refusal is a plain HTTP response
 * and no socket. After the upgrade each socket belongs to exactly one room (the URL names it, and the
 * protocol has no way to name another), and every frame is checked: a bad one closes that socket with
 * a logged reason, never the process.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import { SESSION_COOKIE, validateSessionToken } from '../auth/sessions';
import { parseToken } from '../auth/tokens';
import { setBounded } from '../bounded-map';
import type { AppContext, CollabPort } from '../context';
import type { AppEvent } from '../events';
import { log } from '../log';
import * as usersRepo from '../repositories/users.repository';
import { getAccessResolver, isRoomName, type AccessResolver, type RoomAccess, type RoomPolicy, type RoomUser } from './access';
import {
	decodeAwarenessUpdate,
	decodeClientMessage,
	encodeAck,
	encodeAwareness,
	encodeAwarenessUpdate,
	FrameError,
	type AwarenessEntry
} from './protocol';
import { DEFAULT_ROOM_OPTIONS, newNodeId, RoomManager, type Room, type RoomManagerOptions, type RoomPeer } from './room-manager';

export const COLLAB_PATH_PREFIX = '/collab/';

/** WebSocket close codes. 4400–4499 tell the stock client not to reconnect (a decision, not a glitch). */
export const CLOSE = {
	goingAway: 1001,
	badData: 1007,
	policy: 1008,
	tooBig: 1009,
	serverError: 1011,
	/** Access level changed (read ↔ write): reconnect, so both sides start counting acks afresh. */
	accessChanged: 4000,
	sessionEnded: 4401,
	forbidden: 4403
} as const;

export interface CollabServerOptions extends RoomManagerOptions {
	/** Largest frame accepted; ws closes the socket with 1009 beyond it. */
	maxMessageBytes: number;
	/** Not-yet-applicable update bytes a room may hold (updates waiting for missing dependencies). */
	maxPendingBytes: number;
	maxConnectionsPerUser: number;
	/** From the upgrade request to an open socket (auth and access lookups included). */
	handshakeTimeoutMs: number;
	/** Ping period; a socket that misses a pong for a whole period is dropped. */
	pingIntervalMs: number;
	/** Awareness client ids one connection may speak for (a tab has one; reconnects can add one). */
	maxAwarenessIdsPerConnection: number;
	/** Overrides the installed access resolver (tests). */
	accessResolver?: AccessResolver;
}

export const DEFAULT_COLLAB_OPTIONS: Omit<CollabServerOptions, 'nodeId'> = {
	...DEFAULT_ROOM_OPTIONS,
	maxMessageBytes: 1024 * 1024,
	// A well-behaved client almost never sends an update whose dependencies the server lacks (only in
	// the moment between two processes' NOTIFY); Yjs re-merges everything pending on every update, so
	// the budget stays small to keep a flooder from stalling the process.
	maxPendingBytes: 256 * 1024,
	maxConnectionsPerUser: 20,
	handshakeTimeoutMs: 10_000,
	pingIntervalMs: 30_000,
	maxAwarenessIdsPerConnection: 4
};

let nextConnectionId = 1;
/** How long an upgrade may reuse a room's access rule (dropped at once on any relevant change). */
export const ACCESS_CACHE_MS = 5_000;
/** Dead-socket pings go out in this many slices per interval (by connection id). */
const PING_SLICES = 10;
const ACCESS_CACHE_MAX = 10_000;
/**
 * What a connection may send while its room loads or an access re-check runs (both take milliseconds):
 * a few frames of the largest size. More than that is a client not waiting for anything; it is closed.
 */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

class Connection implements RoomPeer {
	readonly id = nextConnectionId++;
	/** Sync-step-2 and update messages received with write access: the ack counter. */
	received = 0;
	readonly awarenessIds = new Set<number>();
	closed = false;
	alive = true;
	room: Room | undefined;
	/**
	 * Access re-checks in flight (a role, membership or user change): until they settle, what the
	 * connection sends waits in the queue, so a write sent after the change cannot land before the
	 * decision; then it is handled under the decision, or dropped with the socket.
	 */
	rechecking = 0;
	private queue: Uint8Array[] = [];
	private queuedBytes = 0;

	constructor(
		readonly ws: WebSocket,
		readonly user: { id: string; name: string },
		readonly sessionId: string,
		/** Kept to re-validate the session when the user changes (disable, role change). */
		readonly token: string,
		public access: Exclude<RoomAccess, 'none'>,
		readonly roomName: string,
		readonly wantsAcks: boolean
	) {}

	get label(): string {
		return `conn#${this.id} user=${this.user.id} room=${this.roomName}`;
	}

	send(message: Uint8Array): void {
		if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
		// No per-send callback (one closure per peer per message under a storm): a failed write
		// surfaces as the socket's 'error' and 'close', which clean up.
		this.ws.send(message);
	}

	ack(count: number): void {
		if (this.wantsAcks) this.send(encodeAck(count));
	}

	close(code: number, reason: string): void {
		if (this.closed) return;
		this.closed = true;
		try {
			this.ws.close(code, reason);
		} catch (error) {
			// close() throws only for invalid codes; ours are constants, but never let it escape a handler.
			log.error('collab: closing a socket failed', { conn: this.label, error });
			this.ws.terminate();
		}
	}

	/** Keeps a message until the room is ready and no re-check is in flight; the bytes now waiting. */
	enqueue(data: Uint8Array): number {
		this.queue.push(data);
		this.queuedBytes += data.byteLength;
		return this.queuedBytes;
	}

	drain(): Uint8Array[] {
		const queued = this.queue;
		this.queue = [];
		this.queuedBytes = 0;
		return queued;
	}
}

export interface CollabServer {
	/** `url`: the request's URL when the caller has parsed it already (the app's upgrade router). */
	handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url?: URL): void;
	port: CollabPort;
	rooms: RoomManager;
	/** Open connections (tests and the health page). */
	connectionCount(): number;
	/** LISTEN (PostgreSQL); call once before accepting sockets. */
	start(): Promise<void>;
	/** Idempotent: refuse new sockets, close open ones, flush, unload. */
	close(): Promise<void>;
}

export function createCollabServer(ctx: AppContext, overrides: Partial<CollabServerOptions> = {}): CollabServer {
	const opts: CollabServerOptions = { ...DEFAULT_COLLAB_OPTIONS, nodeId: newNodeId(), ...overrides };
	const rooms = new RoomManager(ctx, opts);
	const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes, perMessageDeflate: false });
	const connections = new Set<Connection>();
	/**
	 * Which open connection speaks for each awareness id, per room (`applyAwareness`): looked up per
	 * entry instead of gathered from every peer per message, which made a presence storm quadratic in
	 * the room's size. An id is freed when its connection closes (a tab that reconnects keeps its id).
	 */
	const awarenessOwners = new WeakMap<Room, Map<number, Connection>>();
	const perUser = new Map<string, number>();
	let closing: Promise<void> | undefined;

	const resolvePolicy = (incidentId: string): Promise<RoomPolicy> => (opts.accessResolver ?? getAccessResolver())(ctx, incidentId);

	/**
	 * Upgrades that arrive together (a reconnect storm after a restart or a network blip: every tab of
	 * a user, every user of a room) share the session and room lookups already in flight instead of
	 * queueing identical queries on the pool. Only in flight: a lookup that has settled is never reused,
	 * and any change to sessions, users or memberships drops the shared ones, so an upgrade arriving
	 * after a change always reads afresh. Re-checks of open sockets never share.
	 */
	const inFlightSessions = new Map<string, ReturnType<typeof validateSessionToken>>();
	const inFlightPolicies = new Map<string, Promise<RoomPolicy>>();
	/**
	 * Settled room rules for upgrades, kept a few seconds like validated sessions (auth/sessions.ts): a
	 * reconnect storm of one room reads the room's facts once, not once per user or socket, and each
	 * upgrade applies them to the user its session holds. Any session, user, membership or incident
	 * change drops them all (event-relay.ts brings other processes' changes), so an upgrade after a change reads
	 * afresh; re-checks of open sockets never use them.
	 */
	const policyCache = new Map<string, { at: number; policy: RoomPolicy }>();
	let accessGeneration = 0;
	const knownPolicy = (room: string): RoomPolicy | undefined => {
		const hit = policyCache.get(room);
		return hit && Date.now() - hit.at < ACCESS_CACHE_MS ? hit.policy : undefined;
	};
	/** Reads the room's rule (shared with the upgrades already reading it) and keeps it; the caller found none kept. */
	const readPolicy = async (room: string): Promise<RoomPolicy> => {
		const generation = accessGeneration;
		const policy = await shared(inFlightPolicies, room, () => resolvePolicy(room));
		// A change published while the lookup ran may not be in its answer: use it once, keep nothing.
		if (generation === accessGeneration) {
			setBounded(policyCache, room, { at: Date.now(), policy }, ACCESS_CACHE_MAX);
		}
		return policy;
	};
	const shared = <T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> => {
		let p = map.get(key);
		if (!p) {
			p = load();
			map.set(key, p);
			const forget = () => {
				if (map.get(key) === p) map.delete(key);
			};
			p.then(forget, forget);
		}
		return p;
	};

	const reserve = (userId: string): boolean => {
		const n = perUser.get(userId) ?? 0;
		if (n >= opts.maxConnectionsPerUser) return false;
		perUser.set(userId, n + 1);
		return true;
	};
	const unreserve = (userId: string): void => {
		const n = (perUser.get(userId) ?? 1) - 1;
		if (n <= 0) perUser.delete(userId);
		else perUser.set(userId, n);
	};

	function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url?: URL): void {
		// A socket error during the handshake (client went away) must not become an uncaught exception.
		const onSocketError = (error: Error) => log.debug('collab: socket error during handshake', { error: error.message });
		socket.on('error', onSocketError);
		let done = false;
		const timer = setTimeout(() => {
			if (done) return;
			done = true;
			log.warn('collab: handshake timed out', { url: req.url });
			refuse(socket, 408, 'Handshake timed out');
		}, opts.handshakeTimeoutMs);
		const finish = () => {
			done = true;
			clearTimeout(timer);
		};
		authorise(req, url)
			.then((result) => {
				if (done) {
					if (result.ok) unreserve(result.user.id);
					return;
				}
				finish();
				if (!result.ok) return refuse(socket, result.status, result.message);
				if (closing) {
					unreserve(result.user.id);
					return refuse(socket, 503, 'Shutting down');
				}
				if (socket.destroyed) {
					unreserve(result.user.id);
					return;
				}
				socket.off('error', onSocketError);
				// ws answers a malformed handshake (bad key, version) itself and never calls back: give the
				// reserved connection slot back when such a socket closes.
				let upgraded = false;
				socket.once('close', () => {
					if (!upgraded) unreserve(result.user.id);
				});
				wss.handleUpgrade(req, socket, head, (ws) => {
					upgraded = true;
					const conn = new Connection(ws, result.user, result.sessionId, result.token, result.access, result.room, result.wantsAcks);
					onConnection(conn);
				});
			})
			.catch((error: unknown) => {
				log.error('collab: upgrade failed', { error, url: req.url });
				if (!done) {
					finish();
					refuse(socket, 500, 'Internal error');
				}
			});
	}

	type AuthResult =
		| { ok: false; status: number; message: string }
		| {
				ok: true;
				user: { id: string; name: string };
				sessionId: string;
				token: string;
				access: 'write' | 'read';
				room: string;
				wantsAcks: boolean;
		  };

	async function authorise(req: IncomingMessage, parsed: URL | undefined): Promise<AuthResult> {
		let url: URL;
		try {
			url = parsed ?? new URL(req.url ?? '/', 'http://localhost');
		} catch {
			return { ok: false, status: 400, message: 'Bad request URL' };
		}
		if (!url.pathname.startsWith(COLLAB_PATH_PREFIX)) return { ok: false, status: 404, message: 'Not found' };
		const rest = url.pathname.slice(COLLAB_PATH_PREFIX.length);
		if (rest.length === 0 || rest.includes('/')) return { ok: false, status: 404, message: 'Not found: use /collab/<incidentId>' };
		let room: string;
		try {
			room = decodeURIComponent(rest);
		} catch {
			return { ok: false, status: 400, message: 'Bad incident id' };
		}
		if (!isRoomName(room)) return { ok: false, status: 400, message: 'Bad incident id' };

		const origin = req.headers.origin;
		if (!originAllowed(ctx, origin, req.headers.host)) {
			log.warn('collab: upgrade refused: origin not allowed', { origin: origin ?? null, room });
			return { ok: false, status: 403, message: origin ? 'Origin not allowed' : 'Origin header required' };
		}

		const token = readCookie(req.headers.cookie, SESSION_COOKIE);
		if (!token) return { ok: false, status: 401, message: 'Sign in first' };
		// A token of the wrong shape is no session (validateSessionToken would say so without a query).
		if (!parseToken(token)) return { ok: false, status: 401, message: 'Session expired or invalid' };
		// The room's rule does not depend on who asks: read it while the session is looked up (one round
		// trip instead of two in a reconnect storm, whose sessions are no longer cached). It is applied
		// only to a valid session's user; a failure is handled where it is awaited.
		const known = knownPolicy(room);
		const policyRead = known ? Promise.resolve(known) : readPolicy(room);
		policyRead.catch(() => undefined);
		const valid = await shared(inFlightSessions, token, () => validateSessionToken(ctx, token));
		if (!valid) return { ok: false, status: 401, message: 'Session expired or invalid' };
		const userId = valid.user.id;

		if (!reserve(userId)) {
			log.warn('collab: upgrade refused: too many connections', { userId, limit: opts.maxConnectionsPerUser });
			return { ok: false, status: 429, message: 'Too many open connections for this user' };
		}
		// While the room's rule is still being read, a signed-in user's upgrade also starts loading the
		// document: one round trip instead of two for a storm into a room nobody has open (bench/collab
		// join storm). Nothing of it is sent before the rule allows; a refused upgrade unloads it again
		// at once, and a known rule (kept ACCESS_CACHE_MS) is never waited for, so someone without access
		// can make the process read a document at most once per room per ACCESS_CACHE_MS.
		const prefetched = !known && rooms.prefetch(room);
		let policy: RoomPolicy;
		try {
			policy = await policyRead;
		} catch (error) {
			unreserve(userId);
			if (prefetched) rooms.dropIfUnused(room);
			throw error;
		}
		const access = policy(valid.user);
		if (access === 'none') {
			unreserve(userId);
			if (prefetched) rooms.dropIfUnused(room);
			return { ok: false, status: 403, message: 'No access to this incident' };
		}
		return {
			ok: true,
			user: { id: userId, name: valid.user.display_name },
			sessionId: valid.session.id,
			token,
			access,
			room,
			wantsAcks: url.searchParams.get('acks') === '1'
		};
	}

	function onConnection(conn: Connection): void {
		connections.add(conn);
		const { ws } = conn;
		ws.on('message', (data: RawData, isBinary: boolean) => {
			if (conn.closed) return;
			if (!isBinary) {
				log.warn('collab: text frame; closing', { conn: conn.label });
				return conn.close(CLOSE.badData, 'binary frames only');
			}
			const bytes = toUint8Array(data);
			if (conn.room && conn.rechecking === 0) return handleMessage(conn, conn.room, bytes);
			if (conn.enqueue(bytes) > MAX_QUEUED_BYTES) {
				log.warn('collab: too much sent while waiting for the room or an access check; closing', {
					conn: conn.label,
					limit: MAX_QUEUED_BYTES
				});
				conn.close(CLOSE.policy, 'too much sent while waiting for the room or an access check');
			}
		});
		ws.on('pong', () => (conn.alive = true));
		ws.on('error', (error) => {
			// ws reports oversized frames here (and then closes with 1009); log and let 'close' clean up.
			log.warn('collab: socket error', { conn: conn.label, error: error.message });
		});
		ws.on('close', (code, reason) => {
			conn.closed = true;
			connections.delete(conn);
			unreserve(conn.user.id);
			if (conn.room) {
				const owners = awarenessOwners.get(conn.room);
				for (const id of conn.awarenessIds) if (owners?.get(id) === conn) owners.delete(id);
				rooms.leave(conn.room, conn, conn.awarenessIds);
				rooms.release(conn.room);
			}
			log.debug('collab: socket closed', { conn: conn.label, code, reason: reason.toString() });
		});

		rooms
			.acquire(conn.roomName)
			.then((room) => {
				if (conn.closed) return rooms.release(room);
				conn.room = room;
				rooms.join(room, conn);
				// Our half of the handshake: our state vector (the client answers with what we lack) …
				conn.send(room.syncStep1());
				// … and who is here.
				const states = [...room.awareness.getStates().keys()];
				if (states.length > 0) conn.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(room.awareness, states)));
				handleQueued(conn);
			})
			.catch((error: unknown) => {
				log.error('collab: loading the room failed', { conn: conn.label, error });
				conn.close(CLOSE.serverError, 'could not load the document');
			});
	}

	function handleMessage(conn: Connection, room: Room, bytes: Uint8Array): void {
		try {
			const message = decodeClientMessage(bytes);
			switch (message.type) {
				case 'sync-step-1':
					conn.send(room.syncStep2For(message.stateVector));
					return;
				case 'sync-step-2':
				case 'update': {
					// Read-only: both kinds of write are dropped (DESIGN.md §4), and not counted for acks.
					if (conn.access !== 'write') {
						log.debug('collab: dropped a write from a read-only connection', { conn: conn.label, kind: message.type });
						return;
					}
					conn.received++;
					// Throws a FrameError (closing with 1007) for an update that does not parse.
					const { pendingBytes } = rooms.applyClientUpdate(room, conn, message.update);
					if (pendingBytes > opts.maxPendingBytes) {
						log.warn('collab: too many pending (not yet applicable) update bytes; closing', { conn: conn.label, pendingBytes });
						rooms.clearPending(room);
						return conn.close(CLOSE.policy, 'too many updates with missing dependencies');
					}
					rooms.ackAfterCommit(room, conn, conn.received);
					return;
				}
				case 'awareness':
					return applyAwareness(conn, room, decodeAwarenessUpdate(message.update));
				case 'query-awareness': {
					const ids = [...room.awareness.getStates().keys()];
					conn.send(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(room.awareness, ids)));
					return;
				}
			}
		} catch (error) {
			if (error instanceof FrameError) {
				log.warn('collab: bad frame; closing the socket', { conn: conn.label, reason: error.message });
				conn.close(CLOSE.badData, error.message.slice(0, 120));
			} else {
				log.error('collab: handling a message failed; closing the socket', { conn: conn.label, error });
				conn.close(CLOSE.serverError, 'internal error');
			}
		}
	}

	/**
	 * A connection may speak only for the awareness ids it owns (the first it claims, up to a few), and
	 * whatever it says, `user` is the authenticated user: nobody can pose as someone else.
	 */
	function applyAwareness(conn: Connection, room: Room, entries: AwarenessEntry[]): void {
		let owners = awarenessOwners.get(room);
		if (!owners) awarenessOwners.set(room, (owners = new Map()));
		const accepted: AwarenessEntry[] = [];
		for (const entry of entries) {
			const owner = owners.get(entry.clientId);
			if (owner && owner !== conn) continue;
			if (!owner) {
				if (entry.state === null) continue; // removing someone else's (or nobody's) state
				if (conn.awarenessIds.size >= opts.maxAwarenessIdsPerConnection) continue;
				conn.awarenessIds.add(entry.clientId);
				owners.set(entry.clientId, conn);
			}
			const state = entry.state === null ? null : { ...entry.state, user: { id: conn.user.id, name: conn.user.name } };
			accepted.push({ clientId: entry.clientId, clock: entry.clock, state });
		}
		if (accepted.length === 0) return;
		awarenessProtocol.applyAwarenessUpdate(room.awareness, encodeAwarenessUpdate(accepted), conn);
	}

	// Dead sockets (a laptop lid closed) hold rooms open; a missed pong drops them. Every socket is
	// pinged once per interval, a tenth of them (by connection id) at a time: pinging a room of a
	// thousand sockets in one turn of the event loop, then reading their thousand pongs, stalled the
	// loop for 53–60 ms every interval (1,000 clients in the same process, one core; 15 ms sliced), and
	// every update to that room waited behind it (bench/collab scribe, N = 1,000: p99 46–64 ms).
	let pingTick = 0;
	const pingTimer = setInterval(() => {
		const slice = pingTick++ % PING_SLICES;
		for (const conn of connections) {
			if (conn.id % PING_SLICES !== slice) continue;
			if (!conn.alive) {
				log.debug('collab: no pong; terminating', { conn: conn.label });
				conn.ws.terminate();
				continue;
			}
			conn.alive = false;
			try {
				conn.ws.ping();
			} catch (error) {
				log.debug('collab: ping failed', { conn: conn.label, error });
			}
		}
	}, opts.pingIntervalMs / PING_SLICES);
	pingTimer.unref();

	// Logout, disable, role and membership changes apply to open sockets at once.
	const unsubscribe = ctx.events.subscribe((event: AppEvent) => {
		if (
			event.type === 'sessions.ended' ||
			event.type === 'user.changed' ||
			event.type === 'membership.changed' ||
			event.type === 'incident.changed' ||
			event.type === 'events.missed'
		) {
			inFlightSessions.clear();
			inFlightPolicies.clear();
			policyCache.clear();
			accessGeneration++;
		}
		if (event.type === 'sessions.ended') {
			for (const conn of connections) {
				if (conn.user.id !== event.userId) continue;
				if (event.sessionIds === 'all' || event.sessionIds.includes(conn.sessionId)) conn.close(CLOSE.sessionEnded, 'session ended');
			}
		} else if (event.type === 'user.changed') {
			for (const conn of connections) if (conn.user.id === event.userId) void recheck(conn, true);
		} else if (event.type === 'membership.changed') {
			for (const conn of connections) if (conn.user.id === event.userId && conn.roomName === event.incidentId) void recheck(conn, false);
		} else if (event.type === 'events.missed') {
			// Another process's logout, disable or membership change may be among them: every open socket
			// re-validates its session and access (batched: one query per kind, db/batch.ts).
			for (const conn of connections) void recheck(conn, true);
		}
	});

	/** Handles what the connection sent while its room loaded or a re-check ran, once neither is pending. */
	function handleQueued(conn: Connection): void {
		const room = conn.room;
		if (!room || conn.rechecking > 0 || conn.closed) return;
		for (const bytes of conn.drain()) {
			if (conn.closed) break;
			handleMessage(conn, room, bytes);
		}
	}

	async function recheck(conn: Connection, session: boolean): Promise<void> {
		conn.rechecking++;
		try {
			let validated: RoomUser | undefined;
			if (session) {
				// Read afresh, whether or not the session cache has heard of the change yet; batched, so a
				// re-check of every socket after `events.missed` costs one query, not one per socket.
				const valid = await validateSessionToken(ctx, conn.token, { fresh: true });
				if (!valid) return conn.close(CLOSE.sessionEnded, 'session ended');
				conn.user.name = valid.user.display_name;
				validated = valid.user;
			}
			const [user, policy] = await Promise.all([validated ?? usersRepo.findById(ctx.db, conn.user.id), resolvePolicy(conn.roomName)]);
			const access = user ? policy(user) : 'none';
			if (conn.closed) return;
			if (access === 'none') return conn.close(CLOSE.forbidden, 'access revoked');
			if (access !== conn.access) {
				// Reconnecting resets both ack counters and re-runs the sync under the new rights.
				conn.close(CLOSE.accessChanged, `access changed to ${access}`);
			}
		} catch (error) {
			log.error('collab: re-checking access failed; closing to be safe', { conn: conn.label, error });
			conn.close(CLOSE.serverError, 'could not re-check access');
		} finally {
			conn.rechecking--;
			handleQueued(conn);
		}
	}

	return {
		handleUpgrade,
		port: rooms.port,
		rooms,
		connectionCount: () => connections.size,
		start: () => rooms.start(),
		close() {
			closing ??= (async () => {
				clearInterval(pingTimer);
				unsubscribe();
				for (const conn of connections) conn.close(CLOSE.goingAway, 'server shutting down');
				await rooms.close();
				// Sockets that ignore the close handshake are cut off; the process is going away.
				for (const conn of connections) conn.ws.terminate();
				wss.close();
			})();
			return closing;
		}
	};
}

/** Exact origin match against ORIGIN / WARROOM_ALLOWED_ORIGINS; without ORIGIN, the request's own Host. */
export function originAllowed(ctx: AppContext, origin: string | undefined, host: string | undefined): boolean {
	if (!origin) return false;
	let parsed: URL;
	try {
		parsed = new URL(origin);
	} catch {
		return false;
	}
	if (parsed.origin !== origin) return false; // "null", paths or odd spellings are not origins we issued
	if (ctx.config.allowedOrigins.includes(origin)) return true;
	if (ctx.config.origin !== undefined) return origin === ctx.config.origin;
	return host !== undefined && parsed.host === host.toLowerCase();
}

export function readCookie(header: string | undefined, name: string): string | undefined {
	if (!header) return undefined;
	for (const part of header.split(';')) {
		const eq = part.indexOf('=');
		if (eq < 0) continue;
		if (part.slice(0, eq).trim() !== name) continue;
		const value = part.slice(eq + 1).trim();
		try {
			return decodeURIComponent(value);
		} catch {
			return value;
		}
	}
	return undefined;
}

const STATUS_TEXT: Record<number, string> = {
	400: 'Bad Request',
	401: 'Unauthorized',
	403: 'Forbidden',
	404: 'Not Found',
	408: 'Request Timeout',
	429: 'Too Many Requests',
	500: 'Internal Server Error',
	503: 'Service Unavailable'
};

function refuse(socket: Duplex, status: number, message: string): void {
	if (socket.destroyed) return;
	const body = `${message}\n`;
	socket.end(
		`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
			'Connection: close\r\n' +
			'Content-Type: text/plain; charset=utf-8\r\n' +
			`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
			body
	);
	// end() flushes the response; destroy shortly after in case the peer never closes its side.
	setTimeout(() => socket.destroy(), 1000).unref();
}

function toUint8Array(data: RawData): Uint8Array {
	if (Buffer.isBuffer(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
	if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
	return new Uint8Array(data);
}
