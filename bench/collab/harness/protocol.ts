/**
 * The generator's side of the wire, kept cheap: frames are built from constant bytes and a few varints
 * (real y-protocols messages: sync step 1/2, update, awareness), and incoming frames are classified by
 * their first bytes only. Hocuspocus prefixes every message with the document name and wants an auth
 * message per document first; `Framing` hides that difference.
 */
import * as encoding from 'lib0/encoding';
import type { RunningTarget } from '../types';

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
/** Hocuspocus only: a sync message sent in reply (its own sync step 1 after answering ours). */
export const MESSAGE_SYNC_REPLY = 4;
export const SYNC_STEP_1 = 0;
export const SYNC_STEP_2 = 1;
export const SYNC_UPDATE = 2;

export class Framing {
	/** The bytes every message starts with (Hocuspocus: varString(documentName)); empty otherwise. */
	readonly prefix: Uint8Array;
	constructor(
		readonly hocuspocus: boolean,
		room: string
	) {
		const e = encoding.createEncoder();
		if (hocuspocus) encoding.writeVarString(e, room);
		this.prefix = encoding.toUint8Array(e);
	}

	/** The framing `target` speaks for `room`. */
	static for(target: RunningTarget, room: string): Framing {
		return new Framing(target.name === 'hocuspocus', room);
	}

	private frame(write: (e: encoding.Encoder) => void): Uint8Array {
		const e = encoding.createEncoder();
		encoding.writeUint8Array(e, this.prefix);
		write(e);
		return encoding.toUint8Array(e);
	}

	/**
	 * What a client sends first: Hocuspocus' auth (empty token), then sync step 1 with `stateVector`
	 * (default: empty, a client that holds nothing).
	 */
	opening(stateVector: Uint8Array = new Uint8Array([0])): Uint8Array[] {
		const step1 = this.step1(stateVector);
		return this.hocuspocus ? [this.auth(), step1] : [step1];
	}

	/** Hocuspocus' auth message with an empty token (its default server has no auth hook). */
	auth(): Uint8Array {
		return this.frame((e) => {
			encoding.writeVarUint(e, MESSAGE_AUTH);
			encoding.writeVarUint(e, 0); // AuthMessageType.Token
			encoding.writeVarString(e, '');
		});
	}

	step1(stateVector: Uint8Array): Uint8Array {
		return this.sync(SYNC_STEP_1, stateVector);
	}

	/** A sync message (step 1, step 2 or update) with its payload. */
	sync(sub: number, payload: Uint8Array): Uint8Array {
		return this.frame((e) => {
			encoding.writeVarUint(e, MESSAGE_SYNC);
			encoding.writeVarUint(e, sub);
			encoding.writeVarUint8Array(e, payload);
		});
	}

	/** An empty client's answer to the server's sync step 1: nothing the server lacks. */
	emptyStep2(): Uint8Array {
		return this.frame((e) => {
			encoding.writeVarUint(e, MESSAGE_SYNC);
			encoding.writeVarUint(e, SYNC_STEP_2);
			encoding.writeVarUint8Array(e, new Uint8Array([0, 0]));
		});
	}

	update(update: Uint8Array): Uint8Array {
		return this.sync(SYNC_UPDATE, update);
	}

	awareness(awarenessUpdate: Uint8Array): Uint8Array {
		return this.frame((e) => {
			encoding.writeVarUint(e, MESSAGE_AWARENESS);
			encoding.writeVarUint8Array(e, awarenessUpdate);
		});
	}
}

/** One awareness entry `{clientId, clock, state}` as y-protocols encodes it, without an Awareness instance. */
export function awarenessUpdate(clientId: number, clock: number, stateJson: string): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, 1);
	encoding.writeVarUint(e, clientId);
	encoding.writeVarUint(e, clock);
	encoding.writeVarString(e, stateJson);
	return encoding.toUint8Array(e);
}
