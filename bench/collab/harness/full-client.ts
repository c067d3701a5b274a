/**
 * A full client for the convergence check: a real Y.Doc synced with `y-protocols/sync` over a `ws`
 * socket, with the target's framing (Hocuspocus' document-name prefix and auth). Two of them join a
 * scenario's room, each writes a line, and at the end both must hold the same document with everything
 * every writer sent.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import type { RunningTarget } from '../types';
import { Framing, MESSAGE_SYNC, MESSAGE_SYNC_REPLY } from './protocol';

export class FullClient {
	readonly doc = new Y.Doc();
	readonly ws: WebSocket;
	private readonly framing: Framing;
	synced = false;
	readonly ready: Promise<void>;

	constructor(target: RunningTarget, room: string, index: number) {
		this.framing = Framing.for(target, room);
		this.ws = new WebSocket(target.wsUrl(room), { headers: target.clientHeaders?.(index) ?? target.headers(), perMessageDeflate: false });
		this.ready = new Promise<void>((resolve, reject) => {
			this.ws.on('open', () => {
				// Hocuspocus' auth first; then our own sync step 1, with our real state vector.
				if (this.framing.hocuspocus) this.ws.send(this.framing.auth());
				this.sendSync((e) => syncProtocol.writeSyncStep1(e, this.doc));
			});
			this.ws.on('message', (data: Buffer) => {
				const d = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
				if (this.framing.hocuspocus) decoding.readVarString(d);
				// Hocuspocus sends its own sync step 1 as a "sync reply" (4): answered like any sync message.
				const type = decoding.readVarUint(d);
				if (type !== MESSAGE_SYNC && type !== MESSAGE_SYNC_REPLY) return;
				const e = encoding.createEncoder();
				encoding.writeUint8Array(e, this.framing.prefix);
				encoding.writeVarUint(e, MESSAGE_SYNC);
				const before = encoding.length(e);
				const kind = syncProtocol.readSyncMessage(d, e, this.doc, this);
				if (encoding.length(e) > before) this.ws.send(encoding.toUint8Array(e));
				if (kind === syncProtocol.messageYjsSyncStep2 && !this.synced) {
					this.synced = true;
					resolve();
				}
			});
			this.ws.on('error', reject);
			this.ws.on('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
			this.ws.on('close', (code) => reject(new Error(`closed ${code}`)));
		});
		this.ready.catch(() => {});
		this.doc.on('update', (update: Uint8Array, origin: unknown) => {
			if (origin !== this) this.sendSync((e) => syncProtocol.writeUpdate(e, update));
		});
	}

	private sendSync(write: (e: encoding.Encoder) => void): void {
		if (this.ws.readyState !== WebSocket.OPEN) return;
		const e = encoding.createEncoder();
		encoding.writeUint8Array(e, this.framing.prefix);
		encoding.writeVarUint(e, MESSAGE_SYNC);
		write(e);
		this.ws.send(encoding.toUint8Array(e));
	}

	close(): void {
		this.ws.terminate();
		this.doc.destroy();
	}
}

/**
 * Waits (bounded) until both clients hold the same state and `notes` has `expectedChars` characters.
 * Returns a short verdict for the table notes.
 */
export async function checkConvergence(
	a: FullClient,
	b: FullClient,
	expectedChars: number,
	timeoutMs = 10_000
): Promise<{ ok: boolean; detail: string }> {
	const until = performance.now() + timeoutMs;
	const state = () => {
		const ta = a.doc.getText('notes').toString();
		const tb = b.doc.getText('notes').toString();
		return {
			same: ta === tb && Y.encodeStateVector(a.doc).toString() === Y.encodeStateVector(b.doc).toString(),
			la: ta.length,
			lb: tb.length
		};
	};
	let s = state();
	while (!(s.same && s.la === expectedChars) && performance.now() < until) {
		await new Promise((r) => setTimeout(r, 50));
		s = state();
	}
	const ok = s.same && s.la === expectedChars;
	return {
		ok,
		detail: ok ? `converged (${expectedChars} chars)` : `NOT converged: ${s.la} / ${s.lb} of ${expectedChars} chars, same=${s.same}`
	};
}
