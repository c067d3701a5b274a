/**
 * The in-process event bus: services publish after they commit; the live parts (collab sockets,
 * board streams, notification centre) and the caches (sessions, room rules, board, pages) subscribe.
 * With PostgreSQL, the relay (event-relay.ts) sends what this process publishes to the others through
 * NOTIFY and delivers theirs here, so every node sees the same stream; `events.missed` says that
 * some may have been lost (the relay's LISTEN connection dropped), and every subscriber must then
 * forget what it keeps and re-check what it holds open.
 */
import { EventEmitter } from 'node:events';

export type AppEvent =
	| { type: 'sessions.ended'; userId: string; sessionIds: string[] | 'all' }
	| { type: 'user.changed'; userId: string }
	| { type: 'incident.changed'; incidentId: string; what: string }
	| { type: 'membership.changed'; incidentId: string; userId: string }
	| { type: 'notification.created'; userId: string; notificationId: string }
	| { type: 'board.changed'; incidentId: string | null }
	| { type: 'events.missed' };

export class EventBus {
	private emitter = new EventEmitter();
	private outbound: ((event: AppEvent) => void) | undefined;
	constructor() {
		this.emitter.setMaxListeners(0);
	}
	/** An event of this process: to every subscriber here, then to the relay (if any) for the others. */
	publish(event: AppEvent): void {
		this.emitter.emit('event', event);
		this.outbound?.(event);
	}
	/** An event another process published (from the relay): to the subscribers here, not sent on again. */
	deliver(event: AppEvent): void {
		this.emitter.emit('event', event);
	}
	/** The relay takes what `publish` sends; one relay per bus. */
	relayTo(send: (event: AppEvent) => void): () => void {
		if (this.outbound) throw new Error('EventBus: a relay is already attached');
		this.outbound = send;
		return () => {
			if (this.outbound === send) this.outbound = undefined;
		};
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
