/**
 * The load generator's client: a raw `ws` socket speaking y-protocols frames, with no Y.Doc. It counts
 * as synced when the server's sync step 2 arrives, answers the server's sync step 1 with an empty step 2
 * (it holds nothing the server lacks) or the step 2 it was given, and hands every marker found in an incoming update or awareness
 * frame to `onMarker` — a byte search, no decoding.
 */
import WebSocket from 'ws';
import type { RunningTarget } from '../types';
import { Framing, MESSAGE_AWARENESS, MESSAGE_SYNC, SYNC_STEP_1, SYNC_STEP_2, SYNC_UPDATE } from './protocol';
import { scanMarkers } from './marker';

export type MarkerKind = 'update' | 'awareness';

export interface LoadClientOptions {
	target: RunningTarget;
	room: string;
	/** Client index (ours spreads clients over users by it). */
	index: number;
	/** The state vector its sync step 1 carries (default: empty, a client that holds nothing). */
	stateVector?: Uint8Array;
	/**
	 * The update its sync step 2 carries, the answer to the server's sync step 1 (default: empty). A
	 * real client sends what the server lacks and always its whole delete set, so one that holds the
	 * server's document answers with that delete set.
	 */
	step2?: Uint8Array;
	onMarker?(kind: MarkerKind, sentAtMs: number, sender: number, receivedAtMs: number): void;
}

export class LoadClient {
	readonly ws: WebSocket;
	readonly framing: Framing;
	/** performance.now() at `connect`, at open, and when synced. */
	readonly startedAt = performance.now();
	openedAt = NaN;
	syncedAt = NaN;
	closed = false;
	closeCode: number | undefined;
	error: string | undefined;
	readonly synced: Promise<void>;
	private answeredStep1 = false;

	constructor(private readonly opts: LoadClientOptions) {
		const { target, room, index } = opts;
		this.framing = Framing.for(target, room);
		this.ws = new WebSocket(target.wsUrl(room), {
			headers: target.clientHeaders?.(index) ?? target.headers(),
			perMessageDeflate: false,
			handshakeTimeout: 30_000
		});
		this.synced = new Promise<void>((resolve, reject) => {
			this.ws.on('open', () => {
				this.openedAt = performance.now();
				for (const f of this.framing.opening(this.opts.stateVector)) this.ws.send(f);
			});
			this.ws.on('message', (data: Buffer) => {
				const p = this.framing.prefix.length;
				const type = data[p];
				if (type === MESSAGE_SYNC) {
					const sub = data[p + 1];
					if (sub === SYNC_UPDATE) {
						if (this.opts.onMarker) this.scan('update', data, p);
					} else if (sub === SYNC_STEP_2) {
						if (Number.isNaN(this.syncedAt)) {
							this.syncedAt = performance.now();
							resolve();
						}
					} else if (sub === SYNC_STEP_1 && !this.answeredStep1) {
						this.answeredStep1 = true;
						this.send(this.opts.step2 ? this.framing.sync(SYNC_STEP_2, this.opts.step2) : this.framing.emptyStep2());
					}
				} else if (type === MESSAGE_AWARENESS && this.opts.onMarker) this.scan('awareness', data, p);
			});
			this.ws.on('error', (e) => {
				this.error = e.message;
				reject(e);
			});
			this.ws.on('unexpected-response', (_req, res) => {
				this.error = `HTTP ${res.statusCode}`;
				reject(new Error(this.error));
			});
			this.ws.on('close', (code) => {
				this.closed = true;
				this.closeCode = code;
				reject(new Error(`closed ${code}`));
			});
		});
		// Callers await `synced` with a deadline; an unobserved rejection must not end the process.
		this.synced.catch(() => {});
	}

	private scan(kind: MarkerKind, data: Buffer, from: number): void {
		const now = performance.now();
		const on = this.opts.onMarker!;
		scanMarkers(data, from, (sent, sender) => on(kind, sent, sender, now));
	}

	send(frame: Uint8Array): void {
		if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
	}

	close(): void {
		if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.terminate();
	}
}

/** Opens `n` clients at once; resolves when all are synced or the deadline passes (never hangs). */
export async function openClients(
	n: number,
	make: (i: number) => LoadClient,
	timeoutMs: number
): Promise<{ clients: LoadClient[]; synced: number; failed: string[] }> {
	const clients = Array.from({ length: n }, (_, i) => make(i));
	let timer: NodeJS.Timeout | undefined;
	const deadline = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
	await Promise.race([Promise.allSettled(clients.map((c) => c.synced)), deadline]);
	clearTimeout(timer);
	const failed = clients.filter((c) => Number.isNaN(c.syncedAt)).map((c) => c.error ?? (c.closed ? `closed ${c.closeCode}` : 'timeout'));
	return { clients, synced: n - failed.length, failed };
}

export function closeAll(clients: LoadClient[]): void {
	for (const c of clients) c.close();
}
