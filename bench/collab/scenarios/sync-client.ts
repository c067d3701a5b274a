/**
 * A minimal y-websocket protocol client for the persistence, rooms and cold-load scenarios: one socket,
 * one Y.Doc, the sync handshake, our ack message (type 100, with `?acks=1`), and timings. Lighter than
 * the stock `WebsocketProvider` (no reconnects, no awareness timers, no BroadcastChannel), so hundreds
 * of them fit in the generator process, and every step is timed where it happens.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_ACK = 100;
const SYNC_STEP_1 = 0;
const SYNC_STEP_2 = 1;
const SYNC_UPDATE = 2;
/** Origin of updates received from the server (not sent back). */
const REMOTE = Symbol('remote');

export interface SyncClientOptions {
	url: string;
	headers?: Record<string, string>;
	/** Ask for our ack message (`?acks=1` is appended; only ours answers it). */
	acks?: boolean;
	/** Milliseconds to open the socket and receive the server's sync step 2. */
	timeoutMs?: number;
	/** Send local changes as update messages (off: a pure reader). */
	sendLocal?: boolean;
	/** Publish an awareness state once synced (like a browser tab). */
	awareness?: boolean;
}

export class SyncClient {
	readonly doc = new Y.Doc();
	readonly awareness = new awarenessProtocol.Awareness(this.doc);
	readonly ws: WebSocket;
	/** performance.now() when the socket was created / opened / the server's sync step 2 arrived. */
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
	private readonly ackWaiters: { n: number; resolve(): void }[] = [];
	/** n → send time, for ack latency. */
	private readonly sentAt = new Map<number, number>();
	readonly ackLatencies: number[] = [];

	constructor(private readonly opts: SyncClientOptions) {
		const url = opts.acks ? opts.url + (opts.url.includes('?') ? '&' : '?') + 'acks=1' : opts.url;
		this.ws = new WebSocket(url, { headers: opts.headers, perMessageDeflate: false });
		this.ws.binaryType = 'nodebuffer';
		const timeoutMs = opts.timeoutMs ?? 30_000;
		this.synced = new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`no sync step 2 from ${opts.url} within ${timeoutMs} ms`)), timeoutMs);
			timer.unref();
			this.onSynced = () => {
				clearTimeout(timer);
				resolve();
			};
			this.ws.on('unexpected-response', (_req, res) => {
				clearTimeout(timer);
				reject(new Error(`upgrade refused: HTTP ${res.statusCode} for ${opts.url}`));
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
			const e = encoding.createEncoder();
			encoding.writeVarUint(e, MESSAGE_SYNC);
			encoding.writeVarUint(e, SYNC_STEP_1);
			encoding.writeVarUint8Array(e, Y.encodeStateVector(this.doc));
			this.ws.send(encoding.toUint8Array(e));
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
	}

	private onSynced: () => void = () => undefined;

	private onMessage(data: Uint8Array): void {
		const d = decoding.createDecoder(data);
		const type = decoding.readVarUint(d);
		if (type === MESSAGE_SYNC) {
			const sub = decoding.readVarUint(d);
			const payload = decoding.readVarUint8Array(d);
			if (sub === SYNC_STEP_1) {
				// The server's state vector: answer with what it lacks (counted as a write for acks).
				this.sendSync(SYNC_STEP_2, Y.encodeStateAsUpdate(this.doc, payload));
			} else {
				if (sub === SYNC_STEP_2 && Number.isNaN(this.step2At)) this.step2At = performance.now();
				Y.applyUpdate(this.doc, payload, REMOTE);
				if (sub === SYNC_STEP_2 && Number.isNaN(this.syncedAt)) {
					this.syncedAt = performance.now();
					this.onSynced();
					if (this.opts.awareness) this.awareness.setLocalState({ user: { name: 'bench' } });
				}
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
	}

	private sendSync(sub: number, update: Uint8Array): void {
		if (this.ws.readyState !== WebSocket.OPEN) return;
		const e = encoding.createEncoder();
		encoding.writeVarUint(e, MESSAGE_SYNC);
		encoding.writeVarUint(e, sub);
		encoding.writeVarUint8Array(e, update);
		this.sent++;
		this.sentAt.set(this.sent, performance.now());
		this.ws.send(encoding.toUint8Array(e));
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

export function percentile(values: number[], p: number): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Watches the generator's own event loop: a point measured while it lagged beyond `boundMs` (p99) says
 * more about this process than about the server, and is marked discarded.
 */
export function lagGuard(boundMs = 50): { stop(): { p99Ms: number; lagged: boolean } } {
	const h = monitorEventLoopDelay({ resolution: 10 });
	h.enable();
	return {
		stop() {
			h.disable();
			const p99Ms = h.percentile(99) / 1e6;
			return { p99Ms, lagged: p99Ms > boundMs };
		}
	};
}

/** Our server's `/api/health` counts (rooms loaded, sockets, commits); undefined for other targets. */
export async function healthStats(
	wsUrl: string
): Promise<{ rooms: number; connections: number; commits: number; rows: number } | undefined> {
	const u = new URL(wsUrl);
	u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
	u.pathname = '/api/health';
	u.search = '';
	try {
		const res = await fetch(u, { signal: AbortSignal.timeout(5_000) });
		const body = (await res.json()) as { collabStats?: { rooms: number; connections: number; commits: number; rows: number } };
		return body.collabStats;
	} catch {
		return undefined;
	}
}
