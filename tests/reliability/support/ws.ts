/**
 * Raw y-websocket peers for frames and headers the stock client would never send: any headers on the
 * upgrade, any bytes after it. Messages are recorded; a sync step 1 sent as a barrier comes back as a
 * sync step 2 only after the server handled everything sent before it (one socket, in order).
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { MESSAGE_ACK, MESSAGE_SYNC, SYNC_STEP_2 } from '../../../src/lib/server/collab/protocol';

export type UpgradeOutcome = { status: number; body: string } | { ws: WebSocket } | { error: string };

/** Tries an upgrade with exactly these headers; a refusal resolves with its HTTP status. */
export function tryUpgrade(port: number, path: string, headers: Record<string, string>, timeoutMs = 10_000): Promise<UpgradeOutcome> {
	return new Promise((resolve) => {
		let settled = false;
		const done = (o: UpgradeOutcome) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			resolve(o);
		};
		const timer = setTimeout(() => done({ error: 'timed out' }), timeoutMs);
		let ws: WebSocket;
		try {
			ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, handshakeTimeout: timeoutMs });
		} catch (e) {
			return done({ error: `client refused to send: ${(e as Error).message}` });
		}
		ws.on('unexpected-response', (_req, res) => {
			let body = '';
			res.on('data', (c: Buffer) => (body += c.toString()));
			res.on('end', () => done({ status: res.statusCode ?? 0, body }));
			res.on('error', () => done({ status: res.statusCode ?? 0, body }));
		});
		ws.on('open', () => done({ ws }));
		ws.on('error', (e) => {
			if (!String(e.message).includes('Unexpected server response')) done({ error: e.message });
		});
	});
}

export class RawPeer {
	readonly messages: Uint8Array[] = [];
	acked = 0;
	closeInfo: { code: number; reason: string } | undefined;
	private sent = 0;
	readonly closedPromise: Promise<{ code: number; reason: string }>;

	constructor(readonly ws: WebSocket) {
		ws.on('message', (data: Buffer) => {
			const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
			this.messages.push(bytes);
			const d = decoding.createDecoder(bytes);
			if (decoding.readVarUint(d) === MESSAGE_ACK) this.acked = Math.max(this.acked, decoding.readVarUint(d));
		});
		this.closedPromise = new Promise((resolve) => {
			if (ws.readyState === ws.CLOSED) return resolve({ code: 1006, reason: 'already closed' });
			ws.on('close', (code, reason) => {
				this.closeInfo = { code, reason: reason.toString() };
				resolve(this.closeInfo);
			});
		});
		ws.on('error', () => undefined);
	}

	get open(): boolean {
		return this.ws.readyState === this.ws.OPEN;
	}

	send(bytes: Uint8Array | Buffer | string, opts: { binary?: boolean } = {}): boolean {
		if (!this.open) return false;
		this.ws.send(bytes, { binary: opts.binary ?? typeof bytes !== 'string' });
		return true;
	}

	syncStep2(update: Uint8Array): boolean {
		const e = encoding.createEncoder();
		encoding.writeVarUint(e, MESSAGE_SYNC);
		encoding.writeVarUint(e, SYNC_STEP_2);
		encoding.writeVarUint8Array(e, update);
		return this.send(encoding.toUint8Array(e));
	}

	/** Sends a sync step 1 with an empty state vector and waits for the server's sync step 2 answer. */
	async barrier(timeoutMs = 5000): Promise<boolean> {
		const marker = ++this.sent;
		const before = this.countSyncStep2();
		const e = encoding.createEncoder();
		encoding.writeVarUint(e, MESSAGE_SYNC);
		encoding.writeVarUint(e, 0);
		encoding.writeVarUint8Array(e, Y.encodeStateVector(new Y.Doc()));
		if (!this.send(encoding.toUint8Array(e))) return false;
		const until = Date.now() + timeoutMs;
		while (Date.now() < until && this.open) {
			if (this.countSyncStep2() > before) return marker > 0;
			await new Promise((r) => setTimeout(r, 5));
		}
		return false;
	}

	/** The server's latest full document (answer to a barrier). */
	lastDocument(): Y.Doc {
		const doc = new Y.Doc();
		for (const m of this.messages) {
			const d = decoding.createDecoder(m);
			if (decoding.readVarUint(d) !== MESSAGE_SYNC) continue;
			const sub = decoding.readVarUint(d);
			if (sub === SYNC_STEP_2 || sub === 2) Y.applyUpdate(doc, decoding.readVarUint8Array(d));
		}
		return doc;
	}

	private countSyncStep2(): number {
		let n = 0;
		for (const m of this.messages) if (m[0] === MESSAGE_SYNC && m[1] === SYNC_STEP_2) n++;
		return n;
	}

	close(): void {
		try {
			this.ws.terminate();
		} catch {
			// already gone
		}
	}
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 10): Promise<boolean> {
	const until = Date.now() + timeoutMs;
	while (Date.now() < until) {
		if (await cond()) return true;
		await new Promise((r) => setTimeout(r, stepMs));
	}
	return !!(await cond());
}
