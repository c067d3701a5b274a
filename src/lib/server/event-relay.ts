/**
 * Relays the event bus between processes (PostgreSQL only; PGlite is one process by design). Several
 * processes behind one load balancer each keep caches (validated sessions, room rules, board and page
 * caches) and hold open sockets and streams, all of which the bus keeps honest: a logout, a disabled
 * account or a removed member must close that user's sockets on every process, not only on the one
 * that served the request, and an executive's board on another process must refresh when an incident
 * changes.
 *
 * - Out: what this process publishes goes out with `pg_notify` on `warroom_events`, batched per turn
 *   of the event loop (one statement), in order, tagged with this process's node id. A failed send is
 *   retried with back-off (the database is away); a queue that grows past its bound while it is away
 *   collapses into one `events.missed`, and so does an event too large for NOTIFY.
 * - In: a dedicated LISTEN connection (db/pg-listener.ts). A notification is checked against the
 *   event schema (anything else on the channel is logged and ignored), its own node's are skipped,
 *   the rest are delivered to this process's subscribers (not sent on again).
 * - Lost: notifications sent while the LISTEN connection was down are gone, so after it reconnects the
 *   relay delivers `events.missed` here: every subscriber forgets what it caches and re-checks what it
 *   holds open (sockets re-validate their session and access).
 *
 * Services publish after they commit, so a process that hears of a change reads it committed.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from './db/index';
import { PgListener } from './db/pg-listener';
import type { AppEvent, EventBus } from './events';
import { log } from './log';

export const EVENTS_CHANNEL = 'warroom_events';
/** PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more. */
export const MAX_PAYLOAD_BYTES = 7_900;
/** Events waiting while the database is away; past this they collapse into one `events.missed`. */
export const MAX_QUEUED_EVENTS = 1_000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 15_000;

const id = z.string().min(1).max(200);
const eventSchema = z.discriminatedUnion('type', [
	z.object({ type: z.literal('sessions.ended'), userId: id, sessionIds: z.union([z.array(id).max(1_000), z.literal('all')]) }),
	z.object({ type: z.literal('user.changed'), userId: id }),
	z.object({ type: z.literal('incident.changed'), incidentId: id, what: z.string().max(200) }),
	z.object({ type: z.literal('membership.changed'), incidentId: id, userId: id }),
	z.object({ type: z.literal('notification.created'), userId: id, notificationId: id }),
	z.object({ type: z.literal('board.changed'), incidentId: id.nullable() }),
	z.object({ type: z.literal('events.missed') })
]);
const envelopeSchema = z.object({ node: z.string().min(1).max(100), event: eventSchema });

// The schema must describe exactly the bus's events: a new event type fails the type check here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesEvents: Same<z.infer<typeof eventSchema>, AppEvent> = true;
void schemaMatchesEvents;

export interface EventRelay {
	readonly nodeId: string;
	/** Sends what is queued (one try), then stops listening. */
	stop(): Promise<void>;
}

export interface EventRelayOptions {
	events: EventBus;
	db: Db;
	connectionString: string;
	nodeId?: string;
}

export async function startEventRelay(opts: EventRelayOptions): Promise<EventRelay> {
	const { events, db } = opts;
	const nodeId = opts.nodeId ?? randomUUID();
	const missed = (): string => JSON.stringify({ node: nodeId, event: { type: 'events.missed' } });

	const encode = (event: AppEvent): string => {
		const payload = JSON.stringify({ node: nodeId, event });
		if (Buffer.byteLength(payload) <= MAX_PAYLOAD_BYTES) return payload;
		log.warn('events: an event is too large for NOTIFY; the other processes are told they missed one', { type: event.type });
		return missed();
	};

	let queue: string[] = [];
	let scheduled = false;
	let sending: Promise<void> | undefined;
	let retryTimer: NodeJS.Timeout | undefined;
	let attempts = 0;
	let stopped = false;

	const enqueue = (payloads: string[]) => {
		queue = queue.concat(payloads);
		if (queue.length > MAX_QUEUED_EVENTS) {
			log.error('events: too many events waiting for the database; the other processes are told they missed some', {
				waiting: queue.length
			});
			queue = [missed()];
		}
	};

	const schedule = () => {
		if (scheduled || sending || retryTimer || stopped) return;
		scheduled = true;
		setImmediate(() => {
			scheduled = false;
			void flush();
		});
	};

	async function flush(): Promise<void> {
		if (sending || queue.length === 0) return;
		// Identical payloads in one statement reach the listeners once anyway (NOTIFY folds them).
		const batch = [...new Set(queue)];
		queue = [];
		sending = (async () => {
			try {
				await sql`select pg_notify(${EVENTS_CHANNEL}, payload) from unnest(${batch}::text[]) as payload`.execute(db);
				attempts = 0;
			} catch (error) {
				enqueue(batch.concat(queue.splice(0)));
				if (stopped) return;
				const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempts++);
				log.warn('events: sending to the other processes failed; retrying', { error, events: batch.length, retryInMs: delay });
				retryTimer = setTimeout(() => {
					retryTimer = undefined;
					void flush();
				}, delay);
			}
		})();
		await sending;
		sending = undefined;
		if (queue.length > 0 && !retryTimer) schedule();
	}

	const receive = (payload: string) => {
		let parsed: unknown;
		try {
			parsed = JSON.parse(payload);
		} catch {
			return log.warn('events: ignored a notification that is not JSON', { bytes: payload.length });
		}
		const checked = envelopeSchema.safeParse(parsed);
		if (!checked.success) {
			const issue = checked.error.issues[0];
			return log.warn('events: ignored a notification that is not an event', {
				at: issue?.path.join('.') || '(root)',
				problem: issue?.message ?? 'invalid'
			});
		}
		if (checked.data.node === nodeId) return;
		events.deliver(checked.data.event);
	};

	const listener = new PgListener({
		connectionString: opts.connectionString,
		channel: EVENTS_CHANNEL,
		label: 'events',
		onNotify: receive,
		// What the others published meanwhile is lost: everything here forgets and re-checks.
		onReconnect: () => events.deliver({ type: 'events.missed' })
	});
	await listener.start();
	const detach = events.relayTo((event) => {
		if (stopped) return;
		enqueue([encode(event)]);
		schedule();
	});

	return {
		nodeId,
		async stop() {
			if (stopped) return;
			detach();
			stopped = true;
			if (retryTimer) {
				clearTimeout(retryTimer);
				retryTimer = undefined;
			}
			await sending;
			// One last try for what is still queued; if the database is away, the others find out
			// through their own LISTEN connections dropping.
			if (queue.length > 0) await flush();
			await listener.stop();
		}
	};
}
