/**
 * What a room sends its peers, coalesced per turn of the event loop: every document update and every
 * awareness change that happens before the next `setImmediate` goes out as one message each — the
 * updates merged with `Y.mergeUpdates`, the awareness changes as one awareness update naming every
 * changed client. Under a storm (many writers, everyone's cursor moving) a turn holds many changes,
 * and each peer gets one message per turn instead of one per change: the work per change no longer
 * grows with the number of peers. When idle, a turn holds one change and nothing is delayed beyond
 * the end of the current I/O phase.
 *
 * A lone update goes to everyone but its sender, as before. A merged one goes to everyone, its senders
 * included: Yjs ignores what a client already has (the stock y-websocket server always echoes).
 */
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { log } from '../log';
import { encodeAwareness, encodeUpdate } from './protocol';

export interface BroadcastPeer {
	send(message: Uint8Array): void;
}

export interface BroadcastRoom {
	readonly awareness: awarenessProtocol.Awareness;
	readonly peers: ReadonlySet<BroadcastPeer>;
	readonly destroyed: boolean;
}

export class RoomBroadcaster {
	private updates: Uint8Array[] = [];
	private origins: unknown[] = [];
	private readonly awarenessIds = new Set<number>();
	private scheduled = false;

	constructor(private readonly room: BroadcastRoom) {}

	update(update: Uint8Array, origin: unknown): void {
		this.updates.push(update);
		this.origins.push(origin);
		this.schedule();
	}

	awarenessChanged(ids: readonly number[]): void {
		for (const id of ids) this.awarenessIds.add(id);
		this.schedule();
	}

	private schedule(): void {
		if (this.scheduled) return;
		this.scheduled = true;
		setImmediate(() => {
			// Runs outside any socket handler: nothing may escape and take the process down.
			try {
				this.flush();
			} catch (error) {
				log.error('collab: broadcasting failed', { error });
			}
		});
	}

	/** Sends what is pending now. */
	flush(): void {
		this.scheduled = false;
		const updates = this.updates;
		const origins = this.origins;
		this.updates = [];
		this.origins = [];
		// Only clients the awareness still knows (it keeps a removed client's clock, so removals count).
		const ids = [...this.awarenessIds].filter((id) => this.room.awareness.meta.has(id));
		this.awarenessIds.clear();
		if (this.room.destroyed) return;
		if (updates.length === 1) {
			const message = encodeUpdate(updates[0]!);
			const origin = origins[0];
			for (const peer of this.room.peers) if (peer !== origin) peer.send(message);
		} else if (updates.length > 1) {
			const message = encodeUpdate(Y.mergeUpdates(updates));
			for (const peer of this.room.peers) peer.send(message);
		}
		if (ids.length > 0) {
			// To every peer, the sender included: the stock client treats 30 s without any message
			// (its own awareness echo included) as a dead connection.
			const message = encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.room.awareness, ids));
			for (const peer of this.room.peers) peer.send(message);
		}
	}
}
