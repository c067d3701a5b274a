/**
 * A minimal y-websocket protocol client for the persistence, rooms and cold-load scenarios: one socket,
 * one Y.Doc, the sync handshake in the target's framing (Hocuspocus: the document name before every
 * message and an auth message first; see harness/protocol.ts), awareness like a browser tab, our ack
 * message (type 100, with `?acks=1`), and timings. Lighter than the stock `WebsocketProvider` (no
 * reconnects, no BroadcastChannel), so hundreds of them fit in the generator process, and every step
 * is timed where it happens.
 */
import * as decoding from 'lib0/decoding';
import WebSocket from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { Framing, MESSAGE_AWARENESS, MESSAGE_SYNC, MESSAGE_SYNC_REPLY, SYNC_STEP_1, SYNC_STEP_2, SYNC_UPDATE } from '../harness/protocol';
import type { RunningTarget } from '../types';

/** Ours only: the server's acknowledgement of the first n sync-step-2/update messages (after the commit). */
const MESSAGE_ACK = 100;
/** Origin of updates received from the server (not sent back). */
const REMOTE = Symbol('remote');

export interface SyncClientOptions {
	target: RunningTarget;
	room: string;
	/** Client index: ours spreads clients over its users by it (`clientHeaders(index)`). */
	index: number;
	/** Ask for our ack message (`?acks=1` is appended; only ours answers it). */
	acks?: boolean;
	/** Milliseconds to open the socket and receive the server's sync step 2. */
	timeoutMs?: number;
	/** Send local changes as update messages (off: a pure reader). */
	sendLocal?: boolean;
	/** Publish an awareness state once synced, and renew it, like a browser tab. */
	awareness?: boolean;
}

export class SyncClient {
	readonly doc = new Y.Doc();
	readonly awareness = new awarenessProtocol.Awareness(this.doc);
	readonly ws: WebSocket;
	readonly framing: Framing;
	/** performance.now() when the socket was created / opened / the server's sync step 2 was applied. */
	readonly startedAt = performance.now();
	openedAt = NaN;
	syncedAt = NaN;
	/** When the server's sync step 2 arrived, before the client applied it. */
	step2At = NaN;
	/** Sync-step-2 and update messages sent (our ack counter), and the highest ack received. */
	sent = 0;
	acked = 0;
	closed = false;
	closeCode: number | undefined;
	readonly synced: Promise<void>;
	/** Sync step 2 messages received so far (see `roundTrip`). */
	private step2s = 0;
	private readonly step2Waiters: { n: number; resolve(): void }[] = [];
	private readonly ackWaiters: { n: number; resolve(): void }[] = [];
	/** n → send time, for ack latency. */
	private readonly sentAt = new Map<number, number>();
	readonly ackLatencies: number[] = [];

	constructor(private readonly opts: SyncClientOptions) {
		const { target, room, index } = opts;
		this.framing = Framing.for(target, room);
		const base = target.wsUrl(room);
		const url = opts.acks ? base + (base.includes('?') ? '&' : '?') + 'acks=1' : base;
		this.ws = new WebSocket(url, { headers: target.clientHeaders?.(index) ?? target.headers(), perMessageDeflate: false });
		this.ws.binaryType = 'nodebuffer';
		const timeoutMs = opts.timeoutMs ?? 30_000;
		this.synced = new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`no sync step 2 from ${target.name} (${url}) within ${timeoutMs} ms`)), timeoutMs);
			timer.unref();
			this.onSynced = () => {
				clearTimeout(timer);
				resolve();
			};
			this.ws.on('unexpected-response', (_req, res) => {
				clearTimeout(timer);
				reject(new Error(`upgrade refused: HTTP ${res.statusCode} for ${url}`));
			});
			this.ws.on('error', (error) => {
				clearTimeout(timer);
				reject(error);
			});
			this.ws.on('close', (code) => {
				clearTimeout(timer);
				reject(new Error(`closed (${code}) before sync`));
			});
		});
		// Unhandled rejections of `synced` are the caller's business once it awaits; keep node quiet meanwhile.
		this.synced.catch(() => undefined);
		this.ws.on('open', () => {
			this.openedAt = performance.now();
			for (const frame of this.framing.opening(Y.encodeStateVector(this.doc))) this.ws.send(frame);
		});
		this.ws.on('message', (data: Buffer) => this.onMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
		this.ws.on('close', (code) => {
			this.closed = true;
			this.closeCode = code;
		});
		this.ws.on('error', () => undefined);
		if (opts.sendLocal !== false)
			this.doc.on('update', (update: Uint8Array, origin: unknown) => {
				if (origin !== REMOTE) this.sendSync(SYNC_UPDATE, update);
			});
		if (opts.awareness)
			this.awareness.on('update', ({ added, updated, removed }: AwarenessChange, origin: unknown) => {
				if (origin === REMOTE) return;
				const update = awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...added, ...updated, ...removed]);
				this.send(this.framing.awareness(update));
			});
	}

	private onSynced: () => void = () => undefined;

	private onMessage(data: Uint8Array): void {
		const d = decoding.createDecoder(data);
		if (this.framing.hocuspocus) decoding.readVarString(d);
		const type = decoding.readVarUint(d);
		// Hocuspocus sends its own sync step 1 as a "sync reply" (4); otherwise the same sync messages.
		if (type === MESSAGE_SYNC || type === MESSAGE_SYNC_REPLY) {
			const sub = decoding.readVarUint(d);
			const payload = decoding.readVarUint8Array(d);
			if (sub === SYNC_STEP_1) {
				// The server's state vector: answer with what it lacks (counted as a write for acks).
				this.sendSync(SYNC_STEP_2, Y.encodeStateAsUpdate(this.doc, payload));
				return;
			}
			if (sub === SYNC_STEP_2 && Number.isNaN(this.step2At)) this.step2At = performance.now();
			Y.applyUpdate(this.doc, payload, REMOTE);
			if (sub !== SYNC_STEP_2) return;
			this.step2s++;
			for (let i = this.step2Waiters.length - 1; i >= 0; i--)
				if (this.step2Waiters[i]!.n <= this.step2s) this.step2Waiters.splice(i, 1)[0]!.resolve();
			if (Number.isNaN(this.syncedAt)) {
				this.syncedAt = performance.now();
				this.onSynced();
				if (this.opts.awareness) this.awareness.setLocalState({ user: { name: `bench ${this.opts.index}` } });
			}
		} else if (type === MESSAGE_AWARENESS) {
			awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(d), REMOTE);
		} else if (type === MESSAGE_ACK) {
			const n = decoding.readVarUint(d);
			const now = performance.now();
			for (let i = this.acked + 1; i <= n; i++) {
				const t = this.sentAt.get(i);
				if (t !== undefined) {
					this.ackLatencies.push(now - t);
					this.sentAt.delete(i);
				}
			}
			if (n > this.acked) this.acked = n;
			for (let i = this.ackWaiters.length - 1; i >= 0; i--) {
				if (this.ackWaiters[i]!.n <= this.acked) this.ackWaiters.splice(i, 1)[0]!.resolve();
			}
		}
		// Anything else (Hocuspocus' auth answer and sync status, our other messages) is not needed here.
	}

	private send(frame: Uint8Array): void {
		if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
	}

	private sendSync(sub: number, update: Uint8Array): void {
		if (this.ws.readyState !== WebSocket.OPEN) return;
		this.sent++;
		this.sentAt.set(this.sent, performance.now());
		this.ws.send(this.framing.sync(sub, update));
	}

	/** Applies `fn` as one local transaction (sent as one update message); returns its ack number. */
	change(fn: (doc: Y.Doc) => void): number {
		this.doc.transact(() => fn(this.doc));
		return this.sent;
	}

	/** Sends a ready-made update (e.g. a replayed trace) as one update message. */
	sendUpdate(update: Uint8Array): number {
		Y.applyUpdate(this.doc, update, REMOTE);
		this.sendSync(SYNC_UPDATE, update);
		return this.sent;
	}

	/**
	 * Sends a sync step 1 and resolves when the server's sync step 2 answering it arrives: every server
	 * here handles a socket's messages in order, so by then it has applied everything sent before (the
	 * targets without acks have no other way to say so).
	 */
	roundTrip(timeoutMs = 30_000): Promise<void> {
		const n = this.step2s + 1;
		return new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`no answer to a sync step 1 within ${timeoutMs} ms`)), timeoutMs);
			timer.unref();
			this.step2Waiters.push({
				n,
				resolve: () => {
					clearTimeout(timer);
					resolve();
				}
			});
			this.send(this.framing.step1(Y.encodeStateVector(this.doc)));
		});
	}

	/** Resolves when the server acknowledged the first `n` messages; rejects after `timeoutMs`. */
	waitAck(n: number, timeoutMs = 30_000): Promise<void> {
		if (this.acked >= n) return Promise.resolve();
		return new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`ack ${n} not received within ${timeoutMs} ms (acked ${this.acked})`)), timeoutMs);
			timer.unref();
			this.ackWaiters.push({
				n,
				resolve: () => {
					clearTimeout(timer);
					resolve();
				}
			});
		});
	}

	/** Closes the socket and waits (bounded) for the close handshake. */
	async close(timeoutMs = 5_000): Promise<void> {
		if (this.ws.readyState === WebSocket.CLOSED) return this.destroyDoc();
		await new Promise<void>((resolve) => {
			const timer = setTimeout(() => {
				this.ws.terminate();
				resolve();
			}, timeoutMs);
			timer.unref();
			this.ws.once('close', () => {
				clearTimeout(timer);
				resolve();
			});
			if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
			else this.ws.close(1000);
		});
		this.destroyDoc();
	}

	private destroyDoc(): void {
		this.awareness.destroy();
		this.doc.destroy();
	}
}

type AwarenessChange = { added: number[]; updated: number[]; removed: number[] };

/** Opens `count` clients with at most `parallel` handshakes in flight; all must sync. */
export async function openClients(make: (i: number) => SyncClientOptions, count: number, parallel = 20): Promise<SyncClient[]> {
	const clients: SyncClient[] = new Array(count);
	let next = 0;
	const worker = async () => {
		while (next < count) {
			const i = next++;
			const c = new SyncClient(make(i));
			clients[i] = c;
			await c.synced;
		}
	};
	try {
		await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
	} catch (error) {
		await Promise.all(clients.filter(Boolean).map((c) => c.close(1000)));
		throw error;
	}
	return clients;
}
