/**
 * The wire format: the y-websocket protocol (sync + awareness from y-protocols, lib0 encoding) plus
 * one message of our own, the commit acknowledgement, numbered after the y-websocket ones so the stock
 * client ignores it (and only sent to clients that ask for it with `?acks=1`, see docs/collab.md).
 * Decoding is strict: any malformed frame throws a `FrameError`, and the caller closes that socket.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;
/** Ours: `[100, varuint n]` = the first n sync-step-2/update messages of this connection are committed. */
export const MESSAGE_ACK = 100;

export const SYNC_STEP_1 = 0;
export const SYNC_STEP_2 = 1;
export const SYNC_UPDATE = 2;

export class FrameError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'FrameError';
	}
}

export type ClientMessage =
	| { type: 'sync-step-1'; stateVector: Uint8Array }
	| { type: 'sync-step-2' | 'update'; update: Uint8Array }
	| { type: 'awareness'; update: Uint8Array }
	| { type: 'query-awareness' };

/** Reads one client frame; throws FrameError for anything that is not a well-formed message we accept. */
export function decodeClientMessage(data: Uint8Array): ClientMessage {
	const decoder = decoding.createDecoder(data);
	try {
		const type = decoding.readVarUint(decoder);
		let message: ClientMessage;
		if (type === MESSAGE_SYNC) {
			const sub = decoding.readVarUint(decoder);
			const payload = decoding.readVarUint8Array(decoder);
			if (sub === SYNC_STEP_1) {
				// Validate now so a bad vector fails here with a reason, not inside Yjs later.
				Y.decodeStateVector(payload);
				message = { type: 'sync-step-1', stateVector: payload };
			} else if (sub === SYNC_STEP_2 || sub === SYNC_UPDATE) {
				message = { type: sub === SYNC_STEP_2 ? 'sync-step-2' : 'update', update: payload };
			} else throw new FrameError(`unknown sync message type ${sub}`);
		} else if (type === MESSAGE_AWARENESS) {
			message = { type: 'awareness', update: decoding.readVarUint8Array(decoder) };
		} else if (type === MESSAGE_QUERY_AWARENESS) {
			message = { type: 'query-awareness' };
		} else throw new FrameError(`unknown message type ${type}`);
		if (decoding.hasContent(decoder)) throw new FrameError('trailing bytes after the message');
		return message;
	} catch (error) {
		if (error instanceof FrameError) throw error;
		throw new FrameError(`malformed frame: ${error instanceof Error ? error.message : String(error)}`);
	}
}

/**
 * Checks that an update parses completely before it reaches the shared document: Yjs would otherwise
 * throw half-way through integrating it. Cheap next to applying it (one pass over the bytes).
 */
export function assertValidUpdate(update: Uint8Array): void {
	try {
		// Structs and the delete set: `parseUpdateMeta` stops before the delete set, so an update with a
		// truncated one passed and then threw inside `applyUpdate` (closing with 1011, not 1007).
		Y.decodeUpdate(update);
	} catch (error) {
		throw new FrameError(`malformed Yjs update: ${error instanceof Error ? error.message : String(error)}`);
	}
}

/** Sync step 1: our state vector (`Y.encodeStateVector(doc)`, or read from an encoded state). */
export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, MESSAGE_SYNC);
	encoding.writeVarUint(e, SYNC_STEP_1);
	encoding.writeVarUint8Array(e, stateVector);
	return encoding.toUint8Array(e);
}

/** Sync step 2: what the peer lacks (`Y.encodeStateAsUpdate(doc, itsStateVector)`, or a diff of an encoded state). */
export function encodeSyncStep2(update: Uint8Array): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, MESSAGE_SYNC);
	encoding.writeVarUint(e, SYNC_STEP_2);
	encoding.writeVarUint8Array(e, update);
	return encoding.toUint8Array(e);
}

export function encodeUpdate(update: Uint8Array): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, MESSAGE_SYNC);
	encoding.writeVarUint(e, SYNC_UPDATE);
	encoding.writeVarUint8Array(e, update);
	return encoding.toUint8Array(e);
}

export function encodeAwareness(update: Uint8Array): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, MESSAGE_AWARENESS);
	encoding.writeVarUint8Array(e, update);
	return encoding.toUint8Array(e);
}

export function encodeAck(count: number): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, MESSAGE_ACK);
	encoding.writeVarUint(e, count);
	return encoding.toUint8Array(e);
}

/** For clients (and tests): reads an ack frame, or returns null for any other message. */
export function decodeAck(data: Uint8Array): number | null {
	const decoder = decoding.createDecoder(data);
	if (decoding.readVarUint(decoder) !== MESSAGE_ACK) return null;
	return decoding.readVarUint(decoder);
}

export interface AwarenessEntry {
	clientId: number;
	clock: number;
	/** Parsed JSON state; null means "this client left". */
	state: Record<string, unknown> | null;
}

/** The awareness update layout of y-protocols: count, then (clientID, clock, JSON state) triples. */
export function decodeAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
	const decoder = decoding.createDecoder(update);
	try {
		const n = decoding.readVarUint(decoder);
		// Each entry takes at least three bytes, so a larger count is a lie (and a cheap way to spin us).
		if (n > update.length) throw new FrameError(`awareness update claims ${n} entries in ${update.length} bytes`);
		const out: AwarenessEntry[] = [];
		for (let i = 0; i < n; i++) {
			const clientId = decoding.readVarUint(decoder);
			const clock = decoding.readVarUint(decoder);
			const raw: unknown = JSON.parse(decoding.readVarString(decoder));
			if (raw !== null && (typeof raw !== 'object' || Array.isArray(raw)))
				throw new FrameError('awareness state must be a JSON object or null');
			out.push({ clientId, clock, state: raw as Record<string, unknown> | null });
		}
		if (decoding.hasContent(decoder)) throw new FrameError('trailing bytes after the awareness update');
		return out;
	} catch (error) {
		if (error instanceof FrameError) throw error;
		throw new FrameError(`malformed awareness update: ${error instanceof Error ? error.message : String(error)}`);
	}
}

export function encodeAwarenessUpdate(entries: readonly AwarenessEntry[]): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, entries.length);
	for (const entry of entries) {
		encoding.writeVarUint(e, entry.clientId);
		encoding.writeVarUint(e, entry.clock);
		encoding.writeVarString(e, JSON.stringify(entry.state));
	}
	return encoding.toUint8Array(e);
}
