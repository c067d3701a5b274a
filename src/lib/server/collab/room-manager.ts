/**
 * The rooms of this process: one Y.Doc (+ awareness) per incident, loaded from the update log on first
 * use and unloaded when idle. Every change to a room's document (from a socket or from a service) is
 * appended to the log in batches: one statement per flush for all rooms, so a busy process needs at
 * most 1000 / flushIntervalMs commits per second. A writer's ack is sent only after the batch holding
 * its update has committed (docs/collab.md "Durability").
 *
 * On PostgreSQL several processes share rooms: each flush NOTIFYs `{doc, id, node}` in the statement
 * that appends the rows (so the notification exists only if the rows do), and the other processes fetch those
 * rows and apply them with origin 'remote'.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { createEntry } from '../../collab/incident-doc';
import type { AppContext, CollabPort, CollabSaveState, SystemEntry } from '../context';
import { log } from '../log';
import * as collabRepo from '../repositories/collab.repository';
import { isRoomName } from './access';
import { RoomBroadcaster } from './broadcast';
import { assertValidUpdate, encodeSyncStep1, encodeSyncStep2 } from './protocol';
import { PgListener } from '../db/pg-listener';

export const NOTIFY_CHANNEL = 'warroom_collab';
/** Transaction origins: what made a change decides whether it is persisted and where it is sent. */
export const SERVER_ORIGIN = 'server';
const REMOTE_ORIGIN = 'remote';
const LOAD_ORIGIN = 'load';

/** At most this long between two tries of a failed commit: saving resumes within ~2 s of the database's return. */
const FLUSH_RETRY_MAX_MS = 2_000;
/** Distinct sync step 2 messages (answers to sync step 1) a room keeps between two changes of its document. */
const MAX_SHARED_ANSWERS = 4;
/** Updates that changed nothing a room remembers (`Room.changesNothing`), and their bytes at most. */
const MAX_NOOPS = 4;
const MAX_NOOP_BYTES = 1024 * 1024;
/** Rows a compaction that decodes the stored log folds at most (it stays one modest read and fold). */
const COMPACT_MAX_ROWS = 20_000;
/**
 * A room whose compactions fold its live document (`Fold`) compacts once its tail holds an eighth of its
 * snapshot's size, or compactAfterBytes if that is larger (`tailByteBound`).
 */
const LIVE_FOLD_SHARE = 8;

export interface RoomManagerOptions {
	/**
	 * Batch window: commits start at most once per this long. A change after a quiet spell is committed
	 * at once (right after it went out to the room); what arrives within the window after a commit
	 * started waits for the window's end and shares the next commit.
	 */
	flushIntervalMs: number;
	/** Compact a document's log into a snapshot once it has this many rows past the snapshot … */
	compactAfterRows: number;
	/**
	 * … or once the updates the document integrated since then hold this many bytes or an eighth of the
	 * snapshot's size, whichever is larger (`tailByteBound`). Replaying the tail is what a cold load pays
	 * when a process died before it could compact (a clean unload always compacts): about 5–8 ms per
	 * 128 KiB of the paper trace's rows on top of its 105k-character snapshot (bench/collab cold-load,
	 * "snapshot + tail"). A compaction that folds the room's live document costs one encoding of it
	 * (1–2 ms for the trace) and the snapshot's write, so it can run that often: it rewrites at most
	 * nine times what was written since the last one. A room whose last compaction had to read and decode
	 * the stored log (see `compact`) waits until the tail is as large as the snapshot, so that rewrite
	 * stays within twice. Updates waiting for their dependencies do not count: folding them
	 * gains nothing, and merging them is superlinear (the abuse suite's pending floods made compactions
	 * stall the process for seconds); the row count bounds them.
	 */
	compactAfterBytes: number;
	/** Unload a room this long after its last client left (after flushing). */
	roomIdleMs: number;
	/**
	 * Hibernate a loaded room's document after this long untouched (clients may still be connected):
	 * only its encoded state is kept and the Y.Doc is rebuilt on the next use. 0 = never.
	 */
	hibernateAfterMs: number;
	/** Identifies this process in the log and in NOTIFY payloads. */
	nodeId: string;
}

export const DEFAULT_ROOM_OPTIONS: Omit<RoomManagerOptions, 'nodeId'> = {
	flushIntervalMs: 100,
	compactAfterRows: 500,
	compactAfterBytes: 32 * 1024,
	roomIdleMs: 30_000,
	hibernateAfterMs: 10_000
};

/** A connected client, as the room sees it (the socket side lives in collab-server.ts). */
export interface RoomPeer {
	readonly label: string;
	send(message: Uint8Array): void;
	/** The first `count` sync-step-2/update messages of this connection are committed. */
	ack(count: number): void;
}

interface Batch {
	updates: Uint8Array[];
	acks: Map<RoomPeer, number>;
	waiters: { resolve(): void; reject(error: Error): void }[];
}

function emptyBatch(): Batch {
	return { updates: [], acks: new Map(), waiters: [] };
}

export class Room {
	/** The document while it is live; undefined while the room hibernates (see `doc`). */
	private live: Y.Doc | undefined = new Y.Doc();
	/**
	 * While hibernating: the document's complete state (pending structs included), kept as the sync
	 * step 2 message that carries it (`frozen` is a view of its payload), so a fresh peer is answered
	 * with these very bytes, never a copy per peer.
	 */
	private frozenMessage: Uint8Array | undefined;
	private frozen: Uint8Array | undefined;
	/** Called with every document rebuilt from the frozen state (the manager attaches its listener). */
	onThaw: ((doc: Y.Doc) => void) | undefined;
	/** When the document was last used (Date.now()). */
	lastUsed = Date.now();
	/**
	 * Presence lives beside the document, not in it: awareness needs a Y.Doc only for a client id of its
	 * own (the server's local state is null), so a room can hibernate its document while people are in it.
	 */
	readonly awareness = new awarenessProtocol.Awareness(new Y.Doc());
	readonly peers = new Set<RoomPeer>();
	/** Updates and awareness changes go out coalesced, once per turn of the event loop (broadcast.ts). */
	readonly broadcast: RoomBroadcaster = new RoomBroadcaster(this);
	/** Port calls (transact/read) in progress: the room must not unload under them. */
	holds = 0;
	batch: Batch = emptyBatch();
	rowsSinceSnapshot = 0;
	bytesSinceSnapshot = 0;
	/** The size of the document's last snapshot (compactAfterBytes). */
	snapshotBytes = 0;
	/**
	 * What of the stored document this room's document holds, so a compaction can store the document
	 * itself instead of decoding the log (`RoomManager.foldOf`): the snapshot it was built on (undefined:
	 * none was stored), or 'unknown' once something it held was dropped (`clearPending`) …
	 */
	base: SnapshotId | undefined | 'unknown' = 'unknown';
	/** … and the ids of the log rows it holds past that snapshot (loaded, committed here, fetched from other processes). */
	heldIds: string[] = [];
	/** Whether this room's last compaction stored its document without reading the log (`tailByteBound`). */
	liveFolds = true;
	loading = true;
	/** Log ids announced by other processes while this room was loading. */
	missedWhileLoading: string[] = [];
	unloadTimer: NodeJS.Timeout | undefined;
	/** The compaction of this room's log in progress (one at a time per room in this process). */
	compacting: Promise<void> | undefined;
	destroyed = false;
	/**
	 * Sync step 2 messages by the state vector they answer, and our own sync step 1, shared by every
	 * peer until the document changes (`syncStep2For`, `syncStep1`).
	 */
	private answers: Map<string, Uint8Array> | undefined;
	private step1: Uint8Array | undefined;
	/** Our state vector, read once per change (from the encoded state while asleep: waking keeps it). */
	private vector: Uint8Array | undefined;
	/** Counts `changed()` calls: an update after which it did not move changed nothing. */
	version = 0;
	/** Updates peers sent that changed nothing, byte for byte (`changesNothing`). */
	private noops: Uint8Array[] = [];

	constructor(readonly name: string) {
		// The server is not a participant: without this it would appear in everyone's presence list.
		this.awareness.setLocalState(null);
	}

	get busy(): boolean {
		return this.peers.size > 0 || this.holds > 0;
	}

	/**
	 * The room's Y.Doc. An idle room keeps only its encoded state (a few KiB where a small incident's
	 * document takes tens on the heap); the first use after that rebuilds it, before anyone listens, so
	 * nothing is broadcast or written back. The rebuilt document has a new client id, like a restart.
	 */
	get doc(): Y.Doc {
		this.lastUsed = Date.now();
		if (this.live) return this.live;
		// An unloaded room has no document left: whatever still holds it gets a detached empty one.
		if (this.destroyed) return new Y.Doc();
		const doc = new Y.Doc();
		Y.applyUpdate(doc, this.frozen ?? EMPTY_UPDATE, LOAD_ORIGIN);
		this.freeze(undefined);
		this.live = doc;
		this.onThaw?.(doc);
		return doc;
	}

	get hibernating(): boolean {
		return this.live === undefined && !this.destroyed;
	}

	/** The live document without waking the room (undefined while it hibernates). */
	peek(): Y.Doc | undefined {
		return this.live;
	}

	/**
	 * The whole document as one update, what waits for its dependencies included; a sleeping room's
	 * stored state as it is (a copy), without waking it.
	 */
	encodedState(): Uint8Array {
		if (this.live) return Y.encodeStateAsUpdate(this.live);
		return this.frozen ? this.frozen.slice() : EMPTY_UPDATE;
	}

	hibernate(): void {
		const doc = this.live;
		if (!doc) return;
		this.changed();
		this.freeze(Y.encodeStateAsUpdate(doc));
		this.live = undefined;
		doc.destroy();
	}

	private freeze(state: Uint8Array | undefined): void {
		this.frozenMessage = state && encodeSyncStep2(state);
		this.frozen = this.frozenMessage?.subarray(this.frozenMessage.byteLength - state!.byteLength);
	}

	/**
	 * Starts the room asleep on a stored state (a cold load that found a snapshot and no log after it):
	 * nothing is decoded until the document is first used, and the sync handshake of the clients that
	 * open it is answered from these bytes (`syncStep1`, `syncStep2For`).
	 */
	restOn(state: Uint8Array): void {
		this.changed();
		this.live?.destroy();
		this.live = undefined;
		this.freeze(state);
	}

	/** The document's state vector; while the room hibernates, read from its encoded state without waking it. */
	private stateVector(): Uint8Array {
		return (this.vector ??= this.live || !this.frozen ? Y.encodeStateVector(this.doc) : Y.encodeStateVectorFromUpdate(this.frozen));
	}

	/** Our sync step 1 (our state vector), shared by every peer until the document changes. */
	syncStep1(): Uint8Array {
		return (this.step1 ??= encodeSyncStep1(this.stateVector()));
	}

	/**
	 * The sync step 2 message for a peer with this state vector: what it lacks. A sleeping room answers
	 * from its encoded state without waking: a peer that has nothing (an empty state vector is one zero
	 * byte) gets the stored message as it is, a peer that has something a diff of those bytes
	 * (`Y.diffUpdate`, about half the cost of decoding the document and encoding the answer, and the
	 * room stays asleep).
	 */
	syncStep2For(stateVector: Uint8Array): Uint8Array {
		const frozen = this.live ? undefined : this.frozen;
		if (frozen && stateVector.length === 1 && stateVector[0] === 0) return this.frozenMessage!;
		// Peers that join or reconnect together mostly send the same state vector (nothing, or all of it):
		// they share one message until the document changes. For a long incident that is one encoding of
		// its delete set (and of its content, for a fresh peer) instead of one per peer, and one buffer
		// every socket sends (bench/collab cold-load, the storms).
		const key = answerKey(stateVector);
		const cached = this.answers?.get(key);
		if (cached) return cached;
		const missing = frozen ? Y.diffUpdate(frozen, stateVector) : Y.encodeStateAsUpdate(this.doc, stateVector);
		// A peer that holds all we hold lacks only our delete set (every answer carries all of it), and
		// tells us its own, byte for byte the same when it is in step with us: the document's own delete
		// set changes nothing in it, so that answer need not be decoded when it comes back. Not when
		// something waits for its dependencies: structs that wait are in every answer (a state vector
		// stops at their gap), and so would be taken for nothing new.
		if (sameBytes(stateVector, this.stateVector()) && (frozen ? Y.parseUpdateMeta(missing).to.size === 0 : pendingBytes(this.doc) === 0)) {
			this.changedNothing(missing);
		}
		const answer = encodeSyncStep2(missing);
		this.answers ??= new Map();
		if (this.answers.size < MAX_SHARED_ANSWERS) this.answers.set(key, answer);
		return answer;
	}

	/**
	 * Keeps `state` (the whole document, freshly encoded) as the answer to a peer that has nothing, until
	 * the document changes: a load that encoded its document anyway answers its first fresh client with it.
	 */
	answerFresh(state: Uint8Array): void {
		this.answers ??= new Map();
		this.answers.set(answerKey(EMPTY_STATE_VECTOR), encodeSyncStep2(state));
	}

	/** The document or what waits to be integrated in it changed: answers given so far are stale. */
	changed(): void {
		this.version++;
		this.answers = undefined;
		this.step1 = undefined;
		this.vector = undefined;
	}

	/**
	 * Whether these bytes are an update a peer sent before that changed nothing. A document only grows,
	 * so what it already held it still holds: the same bytes again change nothing either, and need not
	 * be decoded (or wake a sleeping room). Reconnecting clients that hold the same document all answer
	 * our sync step 1 with the same bytes (their delete set; bench/collab cold-load, "reconnect storm").
	 */
	changesNothing(update: Uint8Array): boolean {
		return this.noops.some((known) => sameBytes(known, update));
	}

	/** Remembers an update that changed nothing and left nothing pending (`changesNothing`). */
	changedNothing(update: Uint8Array): void {
		if (update.byteLength > MAX_NOOP_BYTES / MAX_NOOPS || this.changesNothing(update)) return;
		if (this.noops.length >= MAX_NOOPS) this.noops.shift();
		this.noops.push(update);
	}

	/** What waited for its dependencies was dropped: an update that added nothing to it may now add something. */
	forgetNoops(): void {
		this.noops = [];
	}

	destroyDoc(): void {
		this.changed();
		this.forgetNoops();
		this.live?.destroy();
		this.live = undefined;
		this.freeze(undefined);
	}
}

/** What identifies a stored snapshot: its `upto_id` and the MD5 of its bytes. */
export interface SnapshotId {
	uptoId: string;
	md5: string;
}

/**
 * A compaction computed from a room's document, without decoding the log: the document encoded
 * (`state`), the snapshot it was built on (none, or that snapshot's identity) and the ids of the log
 * rows it holds past that snapshot, all taken at one moment.
 */
export interface Fold {
	state: Uint8Array;
	base: SnapshotId | undefined;
	rowIds: string[];
}

/** What a compaction did: rows folded, the snapshot's size, and whether it stored a `Fold` (else it decoded the log). */
export interface Compacted {
	folded: number;
	bytes: number;
	rowIds: string[];
	fromFold: boolean;
	/** It decoded the log into the room's live document (caught it up) and stored that document. */
	caughtUp: boolean;
	/** The snapshot stored (undefined if nothing was folded). */
	snapshot: SnapshotId | undefined;
}

/**
 * The bytes of updates past its snapshot at which a room compacts (see RoomManagerOptions.compactAfterBytes):
 * an eighth of the snapshot's size while its compactions store its document without reading the log,
 * the snapshot's size after one had to read and decode it; never under `compactAfterBytes`.
 */
export function tailByteBound(compactAfterBytes: number, snapshotBytes: number, liveFolds: boolean): number {
	return Math.max(compactAfterBytes, liveFolds ? snapshotBytes / LIVE_FOLD_SHARE : snapshotBytes);
}

/**
 * A snapshot and log rows folded into one update: decoded into a fresh Y.Doc (one transaction per row,
 * see `load`) and encoded (linear, unlike `mergeUpdates` over a long log).
 */
export function foldUpdates(snapshot: Uint8Array | undefined, updates: readonly Uint8Array[]): Uint8Array {
	const doc = new Y.Doc();
	try {
		if (snapshot) Y.applyUpdate(doc, snapshot);
		for (const update of updates) Y.applyUpdate(doc, update);
		return Y.encodeStateAsUpdate(doc);
	} finally {
		doc.destroy();
	}
}

/** A state vector that says "nothing" (no clients): what a fresh peer sends. */
const EMPTY_STATE_VECTOR = new Uint8Array([0]);

/** `Room.answers`' key for a state vector: its bytes, read as latin1. */
function answerKey(stateVector: Uint8Array): string {
	return Buffer.from(stateVector.buffer, stateVector.byteOffset, stateVector.byteLength).toString('latin1');
}

/** Whether two snapshot identities (`upto_id` and MD5, or none) are the same snapshot. */
function sameSnapshot(a: SnapshotId | undefined, b: SnapshotId | undefined): boolean {
	return a?.uptoId === b?.uptoId && a?.md5 === b?.md5;
}

function md5(bytes: Uint8Array): string {
	return createHash('md5').update(bytes).digest('hex');
}

function snapshotId(snapshot: collabRepo.Snapshot | undefined): SnapshotId | undefined {
	return snapshot && { uptoId: snapshot.uptoId, md5: md5(snapshot.state) };
}

/**
 * Applies a stored snapshot and log rows to a room's document (`doc`, the room's own) in one
 * transaction of origin 'remote' (already stored: its clients get what is new, nothing is written
 * back; Yjs skips what the document has), as a catch-up and a compaction that finds the snapshot
 * replaced both do. Also when nothing integrated (what waits for its dependencies emits no 'update').
 */
function applyStored(room: Room, doc: Y.Doc, snapshot: collabRepo.Snapshot | undefined, rows: readonly collabRepo.LogRow[]): void {
	Y.transact(
		doc,
		() => {
			if (snapshot) Y.applyUpdate(doc, snapshot.state);
			for (const row of rows) Y.applyUpdate(doc, row.update);
		},
		REMOTE_ORIGIN
	);
	room.changed();
}

interface Slot {
	room: Room;
	ready: Promise<void>;
}

export class RoomManager {
	private readonly rooms = new Map<string, Slot>();
	private readonly dirty = new Set<Room>();
	private flushTimer: NodeJS.Timeout | undefined;
	private flushChain: Promise<void> = Promise.resolve();
	private flushFailures = 0;
	/** When the latest commit started (performance.now()): the next starts a window later at the earliest. */
	private lastFlushAt = -Infinity;
	private hibernateTimer: NodeJS.Timeout | undefined;
	/** While commits fail: since when (reported by saveState). */
	private failingSince: Date | undefined;
	/** Updates of the batch being committed right now (taken out of their rooms). */
	private inFlightUpdates = 0;
	private listener: PgListener | undefined;
	private closed = false;
	/**
	 * Committed flush transactions and log rows written by this process, and its compactions: all, and
	 * those that had to decode the stored log (the health page shows them).
	 */
	readonly counters = { commits: 0, rows: 0, compactions: 0, compactionsDecoded: 0 };

	readonly port: CollabPort;

	constructor(
		private readonly ctx: AppContext,
		readonly opts: RoomManagerOptions
	) {
		this.port = {
			appendSystemEntry: (incidentId, entry) => this.appendSystemEntry(incidentId, entry),
			transact: (incidentId, fn) => this.transact(incidentId, fn),
			read: (incidentId, fn) => this.read(incidentId, fn),
			saveState: () => this.saveState()
		};
		if (opts.hibernateAfterMs > 0) {
			this.hibernateTimer = setInterval(() => this.hibernateIdle(), Math.max(250, Math.floor(opts.hibernateAfterMs / 2)));
			this.hibernateTimer.unref();
		}
	}

	/** Loaded rooms whose document hibernates (the health page shows the count). */
	hibernatingCount(): number {
		let n = 0;
		for (const { room } of this.rooms.values()) if (room.hibernating) n++;
		return n;
	}

	/**
	 * Puts to sleep the documents nobody touched for `hibernateAfterMs`: a room with nothing waiting to
	 * be committed and no update waiting for its dependencies. Presence, peers and acks are untouched.
	 */
	hibernateIdle(now = Date.now()): number {
		let n = 0;
		for (const { room } of this.rooms.values()) {
			if (room.loading || room.destroyed || room.hibernating) continue;
			if (now - room.lastUsed < this.opts.hibernateAfterMs) continue;
			if (this.dirty.has(room) || room.batch.updates.length > 0 || room.batch.waiters.length > 0) continue;
			const doc = room.peek();
			if (!doc || pendingBytes(doc) > 0) continue;
			room.hibernate();
			n++;
		}
		if (n > 0) log.debug('collab: rooms hibernated', { rooms: n });
		return n;
	}

	/** On PostgreSQL, LISTEN before any room loads, so no committed update can fall between the two. */
	async start(): Promise<void> {
		if (this.ctx.dbKind !== 'postgres') return;
		const connectionString = this.ctx.config.databaseUrl;
		if (!connectionString) throw new Error('collab: PostgreSQL mode needs config.databaseUrl for LISTEN/NOTIFY');
		this.listener = new PgListener({
			connectionString,
			channel: NOTIFY_CHANNEL,
			label: 'collab',
			onNotify: (payload) => this.onNotify(payload),
			onReconnect: () => {
				// Notifications sent while we were away are gone: re-read every loaded room.
				for (const { room } of this.rooms.values()) if (!room.loading) void this.catchUp(room);
			}
		});
		await this.listener.start();
	}

	loadedRoomNames(): string[] {
		return [...this.rooms.keys()];
	}

	/** Loads the room if needed and holds it loaded until `release`. */
	async acquire(name: string): Promise<Room> {
		if (this.closed) throw new Error('collab: the room manager is shut down');
		if (!isRoomName(name)) throw new Error(`collab: "${name}" is not a valid room name`);
		const slot = this.rooms.get(name) ?? this.startLoading(name);
		const { room } = slot;
		room.holds++;
		if (room.unloadTimer) {
			clearTimeout(room.unloadTimer);
			room.unloadTimer = undefined;
		}
		try {
			await slot.ready;
		} catch (error) {
			room.holds--;
			throw error;
		}
		return room;
	}

	release(room: Room): void {
		room.holds--;
		this.scheduleUnload(room);
	}

	/**
	 * Starts loading a room that is not loaded, without holding it: for an upgrade whose access is still
	 * being read, so the document and the room's rule come in one round trip instead of two (a storm
	 * into a room nobody has open waits for both). Nothing is sent to anyone until an upgrade is allowed
	 * and acquires the room; if none does, it unloads like any idle room, or at once (`dropIfUnused`)
	 * when the upgrade is refused. True if this call started the load.
	 */
	prefetch(name: string): boolean {
		if (this.closed || !isRoomName(name) || this.rooms.has(name)) return false;
		const { room, ready } = this.startLoading(name);
		ready.then(
			() => this.scheduleUnload(room),
			() => undefined
		);
		return true;
	}

	/** Unloads the room now if nothing holds it and nobody is in it (a prefetch for an upgrade that was refused). */
	dropIfUnused(name: string): void {
		const slot = this.rooms.get(name);
		if (!slot) return;
		const { room } = slot;
		slot.ready.then(
			() => {
				if (room.busy || room.destroyed || this.closed) return;
				// Something to commit: the idle unload does that (a refused upgrade must not make the
				// process flush early). A log past the snapshot stays as it is, to be replayed next time.
				if (this.dirty.has(room)) return;
				if (this.rooms.get(name)?.room === room) this.rooms.delete(name);
				this.destroyRoom(room);
			},
			() => undefined
		);
	}

	private startLoading(name: string): Slot {
		const room = new Room(name);
		const slot: Slot = { room, ready: this.load(room) };
		this.rooms.set(name, slot);
		slot.ready.catch(() => {
			// A failed load must not leave a half-room behind: the next client retries from scratch.
			if (this.rooms.get(name)?.room === room) this.rooms.delete(name);
			this.destroyRoom(room);
		});
		return slot;
	}

	join(room: Room, peer: RoomPeer): void {
		room.peers.add(peer);
	}

	leave(room: Room, peer: RoomPeer, awarenessIds: Iterable<number>): void {
		if (!room.peers.delete(peer)) return;
		const ids = [...awarenessIds];
		if (ids.length > 0 && !room.destroyed) awarenessProtocol.removeAwarenessStates(room.awareness, ids, peer);
		// Its acks have nowhere to go; its updates stay in the batch and are committed all the same.
		room.batch.acks.delete(peer);
	}

	/**
	 * Applies a client's update. Anything Yjs cannot integrate yet (its dependencies are missing) waits
	 * in `pendingStructs`/`pendingDs`; we persist the raw update in that case too, so an acknowledged
	 * update survives a restart even before its dependencies arrive. Throws a FrameError for an update
	 * that does not parse, before it touches the document (Yjs would throw half-way through).
	 */
	applyClientUpdate(room: Room, peer: RoomPeer, update: Uint8Array): { pendingBytes: number } {
		// An empty update (no structs, no deletions: what a fresh client answers the server's sync step 1
		// with) changes nothing, nor do the bytes of an earlier update that changed nothing (a reconnecting
		// client's delete set), so they do not wake a hibernating room; a hibernating room has nothing pending.
		if (isEmptyUpdate(update) || room.changesNothing(update)) return { pendingBytes: room.hibernating ? 0 : pendingBytes(room.doc) };
		assertValidUpdate(update);
		const before = pendingBytes(room.doc);
		const version = room.version;
		Y.applyUpdate(room.doc, update, peer);
		const after = pendingBytes(room.doc);
		// What waits for its dependencies is part of every answer (encodeStateAsUpdate includes it).
		if (after !== before) room.changed();
		// Nothing integrated (no 'update' event, so no `changed()`) and nothing left waiting: all of it was here.
		if (room.version === version && after === 0) room.changedNothing(update);
		if (after > 0 && after !== before) {
			room.batch.updates.push(update);
			this.markDirty(room);
		}
		return { pendingBytes: after };
	}

	/** Drops updates that cannot be integrated (a client that floods them is closed by the caller). */
	clearPending(room: Room): void {
		room.changed();
		room.forgetNoops();
		// The log keeps what was dropped: the room's document no longer holds all of its rows, for as long
		// as it is loaded (its compactions decode the stored log into a fresh document).
		room.base = 'unknown';
		room.doc.store.pendingStructs = null;
		room.doc.store.pendingDs = null;
	}

	/** Acknowledge `count` to the peer once everything received so far is committed. */
	ackAfterCommit(room: Room, peer: RoomPeer, count: number): void {
		room.batch.acks.set(peer, count);
		this.markDirty(room);
	}

	private async load(room: Room): Promise<void> {
		const { snapshot, rows } = await this.readDocument(room.name);
		// One transaction per row, not one around all of them: Yjs merges adjacent items when a
		// transaction ends, so inside a single long one the struct lists grow unmerged and every later
		// row integrates slower (3–5× slower for a 2,600-row log of the paper trace, bench/collab cold-load).
		// Nobody listens yet, so nothing is sent or written back.
		// A compacted document (a snapshot, no log after it) is not decoded at all: the room starts asleep on
		// the snapshot's bytes and answers its first clients from them (bench/collab cold-load); the first
		// write or service call wakes it.
		if (snapshot && rows.length === 0) room.restOn(snapshot.state);
		else {
			if (snapshot) Y.applyUpdate(room.doc, snapshot.state, LOAD_ORIGIN);
			for (const row of rows) Y.applyUpdate(room.doc, row.update, LOAD_ORIGIN);
			this.attach(room, room.doc);
		}
		room.rowsSinceSnapshot = rows.length;
		room.bytesSinceSnapshot = rows.reduce((n, r) => n + r.update.byteLength, 0);
		room.snapshotBytes = snapshot?.state.byteLength ?? 0;
		room.base = snapshotId(snapshot);
		room.heldIds = rows.map((r) => r.id);
		room.onThaw = (doc) => this.attach(room, doc);
		room.awareness.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
			const changed = added.concat(updated, removed);
			if (changed.length > 0) room.broadcast.awarenessChanged(changed);
		});
		room.loading = false;
		// A long log (a process killed before it could compact, or a busy room on another node) is folded
		// once, right after this load has answered its first clients: every later cold load then reads
		// one snapshot, however long the history (bench/collab cold-load). The document as loaded is
		// exactly that snapshot and those rows, so its encoding is the fold — no second decode of the
		// history beside the room's first clients — and the answer to the first client that has nothing.
		if (this.tailTooLong(room)) {
			const state = Y.encodeStateAsUpdate(room.doc);
			room.answerFresh(state);
			const fold = this.foldOf(room, state);
			setTimeout(() => void this.compactRoom(room, fold), 0);
		}
		const missed = room.missedWhileLoading;
		room.missedWhileLoading = [];
		if (missed.length > 0) await this.fetchRemote(room, missed);
	}

	/**
	 * Snapshot + every remaining log row, read in one statement (one consistent view of both tables) so
	 * a concurrent compaction cannot split them. Every row, not "rows after upto_id": ids are handed out at insert
	 * time but become visible at commit, so a row with a lower id than the snapshot's may commit after
	 * the compaction ran. Compaction deletes exactly the rows it folded, so whatever is left is needed
	 * (or harmless: applying an update twice is a no-op in Yjs).
	 */
	private readDocument(name: string) {
		return collabRepo.readDocument(this.ctx.db, name);
	}

	private attach(room: Room, doc: Y.Doc): void {
		doc.on('update', (update: Uint8Array, origin: unknown) => this.onDocUpdate(room, update, origin));
	}

	private onDocUpdate(room: Room, update: Uint8Array, origin: unknown): void {
		room.changed();
		// What the document integrated (ours or another process's); what waits for its dependencies
		// emits no 'update' and is bounded by compactAfterRows (see there).
		room.bytesSinceSnapshot += update.byteLength;
		room.broadcast.update(update, origin);
		// Remote updates are already in the log (another process wrote them).
		if (origin === REMOTE_ORIGIN || origin === LOAD_ORIGIN) return;
		room.batch.updates.push(update);
		this.markDirty(room);
	}

	/**
	 * Schedules the next commit: at once if none started within the window (a timer, so it runs after
	 * this change's broadcast, which goes out on `setImmediate`), else at the window's end; after failed
	 * commits, a window plus the backoff. Starting at the front of the window rather than a window after
	 * the first change keeps a writer's ack at the database's latency, and keeps the commit's work (ours
	 * and the database's) next to the change that caused it instead of on the arrival of the next one
	 * from a writer typing at about one change per window (bench/collab scribe).
	 */
	private markDirty(room: Room): void {
		this.dirty.add(room);
		if (this.flushTimer || this.closed) return;
		const window = this.opts.flushIntervalMs;
		const delay =
			this.flushFailures === 0
				? Math.max(0, window - (performance.now() - this.lastFlushAt))
				: window + Math.min(FLUSH_RETRY_MAX_MS, window * 2 ** this.flushFailures);
		this.flushTimer = setTimeout(() => {
			this.flushTimer = undefined;
			void this.flushNow();
		}, delay);
	}

	/** Commits everything pending now (shutdown, unload); flushes never overlap. */
	flushNow(): Promise<void> {
		if (this.flushTimer) {
			clearTimeout(this.flushTimer);
			this.flushTimer = undefined;
		}
		this.flushChain = this.flushChain.then(() => this.flushOnce());
		return this.flushChain;
	}

	/** Is saving working, and how much waits to be committed. */
	saveState(): CollabSaveState {
		let unsaved = this.inFlightUpdates;
		for (const { room } of this.rooms.values()) unsaved += room.batch.updates.length;
		if (!this.failingSince) return { saving: 'ok', unsavedUpdates: unsaved };
		return { saving: 'failing', unsavedUpdates: unsaved, failingSince: this.failingSince.toISOString() };
	}

	private async flushOnce(): Promise<void> {
		if (this.dirty.size === 0) return;
		this.lastFlushAt = performance.now();
		const taken: [Room, Batch][] = [...this.dirty].map((room) => {
			const batch = room.batch;
			room.batch = emptyBatch();
			return [room, batch];
		});
		this.dirty.clear();

		const rows = taken
			.filter(([, b]) => b.updates.length > 0)
			.map(([room, b]) => ({
				doc: room.name,
				// A batch is small (≤ one flush window), so merging it is cheap, and it keeps the log short.
				update: b.updates.length === 1 ? b.updates[0]! : Y.mergeUpdates(b.updates),
				nodeId: this.opts.nodeId
			}));
		this.inFlightUpdates = taken.reduce((n, [, b]) => n + b.updates.length, 0);
		let appended: { id: string; doc: string }[] = [];
		try {
			// One statement, so one round trip: a multi-row insert is atomic, and on PostgreSQL the same
			// statement notifies the other processes of every row (delivered when it commits).
			if (rows.length > 0) {
				appended =
					this.ctx.dbKind === 'postgres'
						? await collabRepo.appendAndNotify(this.ctx.db, rows, NOTIFY_CHANNEL)
						: await collabRepo.append(this.ctx.db, rows);
			}
		} catch (error) {
			this.inFlightUpdates = 0;
			this.flushFailures++;
			this.failingSince ??= new Date();
			log.error('collab: committing updates failed; will retry (clients keep them unacknowledged)', {
				error,
				rooms: taken.length,
				attempt: this.flushFailures
			});
			for (const [room, b] of taken) {
				// Put the batch back in front of anything that arrived meanwhile, acks keeping the larger count.
				const newer = room.batch;
				room.batch = {
					updates: [...b.updates, ...newer.updates],
					acks: new Map([...b.acks, ...newer.acks]),
					waiters: [...b.waiters, ...newer.waiters]
				};
				if (!room.destroyed) this.markDirty(room);
				else for (const w of room.batch.waiters) w.reject(error instanceof Error ? error : new Error(String(error)));
			}
			return;
		}
		this.inFlightUpdates = 0;
		if (this.failingSince) {
			log.warn('collab: committing updates works again', {
				failedForMs: Date.now() - this.failingSince.getTime(),
				attempts: this.flushFailures
			});
			this.failingSince = undefined;
		}
		this.flushFailures = 0;
		if (rows.length > 0) {
			this.counters.commits++;
			this.counters.rows += rows.length;
		}
		// One row per room: what its document held when the batch was taken (its own changes, or updates
		// waiting in it for their dependencies).
		const idOf = new Map(appended.map((r) => [r.doc, r.id]));
		for (const [room, b] of taken) {
			for (const [peer, count] of b.acks) if (room.peers.has(peer)) peer.ack(count);
			for (const w of b.waiters) w.resolve();
			if (b.updates.length > 0) {
				room.rowsSinceSnapshot++;
				const id = idOf.get(room.name);
				if (id !== undefined) room.heldIds.push(id);
			}
		}
		// Not awaited: a compaction (its own transaction) must not hold back the next commit of any room.
		for (const [room] of taken) if (this.tailTooLong(room)) void this.compactRoom(room);
	}

	/** Whether the room's log past its snapshot is long enough to fold (compactAfterRows, compactAfterBytes). */
	private tailTooLong(room: Room): boolean {
		return (
			room.rowsSinceSnapshot >= this.opts.compactAfterRows ||
			room.bytesSinceSnapshot >= tailByteBound(this.opts.compactAfterBytes, room.snapshotBytes, room.liveFolds)
		);
	}

	/**
	 * The room's document as a compaction (`Fold`), taken now: undefined if the room does not know what
	 * of the stored document it holds, or holds no log row.
	 */
	private foldOf(room: Room, state?: Uint8Array): Fold | undefined {
		if (room.base === 'unknown' || room.heldIds.length === 0 || room.destroyed) return undefined;
		return { state: state ?? room.encodedState(), base: room.base, rowIds: [...room.heldIds] };
	}

	/**
	 * Compacts a room's log, from its live document when it can (`fold`, or one taken when the compaction
	 * starts); never throws: a failure is logged and the next trigger tries again.
	 */
	private compactRoom(room: Room, given?: Fold): Promise<void> {
		if (room.compacting) return room.compacting;
		// What is counted now is what it folds at least; rows committed while it runs stay counted.
		const rows = room.rowsSinceSnapshot;
		const bytes = room.bytesSinceSnapshot;
		const fold = given ?? this.foldOf(room);
		room.compacting = this.compact(room.name, fold, room)
			.then(
				(done) => {
					room.rowsSinceSnapshot = Math.max(0, room.rowsSinceSnapshot - rows);
					room.bytesSinceSnapshot = Math.max(0, room.bytesSinceSnapshot - bytes);
					if (done.folded > 0) {
						room.snapshotBytes = done.bytes;
						this.counters.compactions++;
						if (!done.fromFold) this.counters.compactionsDecoded++;
					}
					// A compaction that had to read and decode the log (another process compacted the room meanwhile)
					// keeps the snapshot-sized bound until one stores the room's document again: two processes that
					// compact one room in turn then decode at the old bound's pace, not eight times as often.
					if (fold) room.liveFolds = done.fromFold;
					// The document holds what it stored (its own encoding); rows committed meanwhile stay held. A
					// snapshot decoded into a fresh document may hold rows this document has not fetched yet: the
					// room's base stays the snapshot it had, and its next fold checks it, as this one did.
					if ((done.fromFold || done.caughtUp) && room.base !== 'unknown') room.base = done.snapshot;
					if (done.rowIds.length > 0) {
						const folded = new Set(done.rowIds);
						room.heldIds = room.heldIds.filter((id) => !folded.has(id));
					}
				},
				(error: unknown) => log.error('collab: compaction failed; the log keeps growing until the next try', { error, doc: room.name })
			)
			.finally(() => {
				room.compacting = undefined;
			});
		return room.compacting;
	}

	/**
	 * Folds a document's log into its snapshot, in one transaction (a reader sees either the old snapshot
	 * and rows or the new ones) under the document's advisory lock. With a `Fold` of a room's document
	 * (the usual case), nothing is decoded: if the stored snapshot is still the one that document was
	 * built on, the fold's encoding replaces it and exactly the rows the document holds are deleted.
	 * Otherwise (another process compacted meanwhile, or no fold) the stored snapshot and rows are read
	 * and `encodeStateAsUpdate` of a document holding them is stored (linear, unlike `mergeUpdates` over
	 * a long log), deleting the rows it read. That document is the `room`'s own when it is live and knows
	 * what it holds: the stored document is applied to it (Yjs skips what it has; its peers get the rest,
	 * as from a catch-up), so it holds the new snapshot, and its next compaction folds again. Otherwise
	 * (no room, a sleeping one, or one that dropped updates waiting for their dependencies, which the
	 * log keeps and the room must not take back) a fresh Y.Doc.
	 */
	async compact(name: string, fold?: Fold, room?: Room): Promise<Compacted> {
		return this.ctx.db.transaction().execute(async (trx): Promise<Compacted> => {
			await collabRepo.lockDoc(trx, name);
			let folded: { state: Uint8Array; rowIds: string[]; baseUptoId: string | undefined };
			let caughtUp = false;
			const fromFold = !!fold && fold.rowIds.length > 0 && sameSnapshot(await collabRepo.snapshotDigest(trx, name), fold.base);
			if (fold && fromFold) {
				folded = { state: fold.state, rowIds: fold.rowIds, baseUptoId: fold.base?.uptoId };
			} else {
				const snapshot = await collabRepo.findSnapshot(trx, name);
				// All remaining rows (see readDocument), bounded so one compaction stays one modest statement.
				const rows = await collabRepo.listAfter(trx, name, '0', COMPACT_MAX_ROWS);
				if (rows.length === 0)
					return { folded: 0, bytes: snapshot?.state.byteLength ?? 0, rowIds: [], fromFold: false, caughtUp: false, snapshot: undefined };
				const doc = room && !room.destroyed && room.base !== 'unknown' ? room.peek() : undefined;
				if (room && doc) {
					applyStored(room, doc, snapshot, rows);
					// The rows it read and the rows it held: the document holds them all now.
					const read = new Set(rows.map((r) => r.id));
					folded = {
						state: Y.encodeStateAsUpdate(doc),
						rowIds: [...read, ...room.heldIds.filter((id) => !read.has(id))],
						baseUptoId: snapshot?.uptoId
					};
					caughtUp = true;
				} else {
					folded = {
						state: foldUpdates(
							snapshot?.state,
							rows.map((r) => r.update)
						),
						rowIds: rows.map((r) => r.id),
						baseUptoId: snapshot?.uptoId
					};
				}
			}
			// The highest id folded (a fold's ids come in the order the room met them, not in id order).
			let uptoId = folded.baseUptoId;
			for (const id of folded.rowIds) if (uptoId === undefined || BigInt(id) > BigInt(uptoId)) uptoId = id;
			await collabRepo.upsertSnapshot(trx, { doc: name, state: folded.state, uptoId: uptoId!, at: this.ctx.now() });
			// Exactly the rows folded: a row with a lower id may still be committing in another process.
			await collabRepo.deleteIds(trx, name, folded.rowIds);
			log.debug('collab: compacted', { doc: name, folded: folded.rowIds.length, fromFold, caughtUp });
			return {
				folded: folded.rowIds.length,
				bytes: folded.state.byteLength,
				rowIds: folded.rowIds,
				fromFold,
				caughtUp,
				snapshot: { uptoId: uptoId!, md5: md5(folded.state) }
			};
		});
	}

	private onNotify(payload: string): void {
		let parsed: unknown;
		try {
			parsed = JSON.parse(payload);
		} catch {
			log.warn('collab: ignored a malformed notification', { payload: payload.slice(0, 200) });
			return;
		}
		const { doc, id, node } = (parsed ?? {}) as { doc?: unknown; id?: unknown; node?: unknown };
		if (typeof doc !== 'string' || typeof id !== 'string' || !/^\d+$/.test(id) || typeof node !== 'string') {
			log.warn('collab: ignored a notification without doc/id/node', { payload: payload.slice(0, 200) });
			return;
		}
		if (node === this.opts.nodeId) return;
		const slot = this.rooms.get(doc);
		if (!slot) return; // not loaded here: it will read the log when it loads
		const { room } = slot;
		room.rowsSinceSnapshot++;
		if (room.loading) room.missedWhileLoading.push(id);
		else void this.fetchRemote(room, [id]);
	}

	private async fetchRemote(room: Room, ids: string[]): Promise<void> {
		try {
			const rows = await collabRepo.listByIds(this.ctx.db, room.name, ids);
			// Missing rows were folded into a snapshot by a compaction meanwhile: read the whole document.
			if (rows.length < ids.length) return await this.catchUp(room);
			if (room.destroyed) return;
			Y.transact(room.doc, () => rows.forEach((r) => Y.applyUpdate(room.doc, r.update)), REMOTE_ORIGIN);
			// Also when nothing integrated (an update waiting for its dependencies emits no 'update').
			room.changed();
			room.heldIds.push(...rows.map((r) => r.id));
		} catch (error) {
			log.error('collab: fetching a remote update failed', { error, doc: room.name, ids });
		}
	}

	/** Re-reads the whole document and applies it (idempotent: Yjs skips what it already has). */
	private async catchUp(room: Room): Promise<void> {
		try {
			const { snapshot, rows } = await this.readDocument(room.name);
			if (room.destroyed) return;
			applyStored(room, room.doc, snapshot, rows);
			// The document now holds that snapshot and every row read with it, and still every row it held;
			// not after it dropped updates waiting for their dependencies: a row holding one of those may
			// still be committing, and its id would be taken for something the document holds.
			if (room.base !== 'unknown') room.base = snapshotId(snapshot);
			const held = new Set(room.heldIds);
			for (const row of rows) if (!held.has(row.id)) room.heldIds.push(row.id);
		} catch (error) {
			log.error('collab: catching up with the log failed', { error, doc: room.name });
		}
	}

	private scheduleUnload(room: Room): void {
		if (room.busy || room.unloadTimer || room.destroyed || this.closed) return;
		room.unloadTimer = setTimeout(() => {
			room.unloadTimer = undefined;
			void this.unload(room);
		}, this.opts.roomIdleMs);
	}

	private async unload(room: Room): Promise<void> {
		if (room.busy) return;
		await this.flushNow();
		// Leave one snapshot behind: the next cold load of this incident reads a single row.
		if (room.rowsSinceSnapshot > 0 && !room.destroyed && !this.closed) await this.compactRoom(room);
		// Someone may have joined while we flushed, or the flush failed and the batch is back.
		if (room.busy || this.dirty.has(room) || room.destroyed) return;
		if (this.rooms.get(room.name)?.room === room) this.rooms.delete(room.name);
		this.destroyRoom(room);
		log.debug('collab: room unloaded', { doc: room.name });
	}

	private destroyRoom(room: Room): void {
		if (room.destroyed) return;
		room.destroyed = true;
		if (room.unloadTimer) clearTimeout(room.unloadTimer);
		room.awareness.destroy();
		room.destroyDoc();
	}

	private async transact(incidentId: string, fn: (doc: Y.Doc) => void): Promise<void> {
		const room = await this.acquire(incidentId);
		try {
			const committed = new Promise<void>((resolve, reject) => room.batch.waiters.push({ resolve, reject }));
			this.markDirty(room);
			// Yjs has no rollback: if fn throws, what it already changed stays (and is committed).
			room.doc.transact(() => fn(room.doc), SERVER_ORIGIN);
			await committed;
		} finally {
			this.release(room);
		}
	}

	private async read<T>(incidentId: string, fn: (doc: Y.Doc) => T): Promise<T> {
		const room = await this.acquire(incidentId);
		try {
			return fn(room.doc);
		} finally {
			this.release(room);
		}
	}

	private appendSystemEntry(incidentId: string, entry: SystemEntry): Promise<void> {
		const now = this.ctx.now();
		return this.transact(incidentId, (doc) => {
			createEntry(doc, {
				id: randomUUID(),
				at: entry.at ?? now,
				recordedAt: now,
				kind: entry.kind,
				// `text` carries the organisation's default language (zh-CN); readers pick from `i18n`.
				text: entry.text['zh-CN'],
				i18n: entry.text,
				author: null,
				authorName: 'Warroom',
				pinned: entry.pinned ?? false
			});
		});
	}

	/** Idempotent: flush what is pending, stop listening, drop every room. */
	async close(): Promise<void> {
		if (this.closed) return;
		try {
			await this.flushNow();
		} catch (error) {
			log.error('collab: final flush failed; unacknowledged updates stay with their clients', { error });
		}
		this.closed = true;
		if (this.flushTimer) clearTimeout(this.flushTimer);
		if (this.hibernateTimer) clearInterval(this.hibernateTimer);
		for (const room of this.dirty) {
			for (const w of room.batch.waiters) w.reject(new Error('collab: shut down before the change was committed'));
		}
		this.dirty.clear();
		await this.listener?.stop();
		// Compactions in flight finish (each is one transaction; they never reject).
		await Promise.all([...this.rooms.values()].map(({ room }) => room.compacting));
		for (const { room } of this.rooms.values()) this.destroyRoom(room);
		this.rooms.clear();
	}
}

/** The empty update in the V1 encoding: zero structs, an empty delete set. */
const EMPTY_UPDATE = new Uint8Array([0, 0]);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

function isEmptyUpdate(update: Uint8Array): boolean {
	return update.length === EMPTY_UPDATE.length && update[0] === 0 && update[1] === 0;
}

export function pendingBytes(doc: Y.Doc): number {
	return (doc.store.pendingStructs?.update.byteLength ?? 0) + (doc.store.pendingDs?.byteLength ?? 0);
}

export function newNodeId(): string {
	return randomUUID();
}
