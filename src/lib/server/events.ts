/**
 * The in-process event bus: services publish after they commit; the live parts (collab sockets,
 * board streams, notification centre) subscribe. With PostgreSQL, a bridge relays events between
 * processes through LISTEN/NOTIFY so every node sees the same stream.
 */
import { EventEmitter } from 'node:events';

export type AppEvent =
	| { type: 'sessions.ended'; userId: string; sessionIds: string[] | 'all' }
	| { type: 'user.changed'; userId: string }
	| { type: 'incident.changed'; incidentId: string; what: string }
	| { type: 'membership.changed'; incidentId: string; userId: string }
	| { type: 'notification.created'; userId: string; notificationId: string }
	| { type: 'board.changed'; incidentId: string | null };

export class EventBus {
	private emitter = new EventEmitter();
	constructor() {
		this.emitter.setMaxListeners(0);
	}
	publish(event: AppEvent): void {
		this.emitter.emit('event', event);
	}
	subscribe(fn: (event: AppEvent) => void): () => void {
		const safe = (e: AppEvent) => {
			try {
				fn(e);
			} catch (error) {
				// A broken subscriber must not stop the others or the publisher.
				process.stderr.write(JSON.stringify({ level: 'error', msg: 'event subscriber failed', type: e.type, error: String(error) }) + '\n');
			}
		};
		this.emitter.on('event', safe);
		return () => this.emitter.off('event', safe);
	}
}
