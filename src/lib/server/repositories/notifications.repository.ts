/**
 * SQL for the notification centre (`notifications`), the outbound channels
 * (`notification_channels`) and the delivery queue/log (`notification_deliveries`).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Insertable } from 'kysely';
import type {
	Database,
	NotificationChannelRow,
	NotificationChannelTable,
	NotificationDeliveryRow,
	NotificationDeliveryTable,
	NotificationRow,
	NotificationTable
} from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

// ---------- in-app notifications ----------

/** Inserts, skipping rows whose (user, dedupe key) exists already; returns only the new rows. */
export function insertNotifications(db: Q, rows: Insertable<NotificationTable>[]): Promise<NotificationRow[]> {
	if (rows.length === 0) return Promise.resolve([]);
	return db
		.insertInto('notifications')
		.values(rows)
		.onConflict((oc) => oc.columns(['user_id', 'dedupe_key']).where('dedupe_key', 'is not', null).doNothing())
		.returningAll()
		.execute();
}

export function findNotification(db: Q, id: string): Promise<NotificationRow | undefined> {
	return db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Newest first; `beforeSeq` pages back. */
export function listForUser(
	db: Q,
	opts: { userId: string; limit: number; beforeSeq?: string; unreadOnly?: boolean }
): Promise<NotificationRow[]> {
	let q = db.selectFrom('notifications').selectAll().where('user_id', '=', opts.userId);
	if (opts.beforeSeq) q = q.where('seq', '<', opts.beforeSeq);
	if (opts.unreadOnly) q = q.where('read_at', 'is', null);
	return q.orderBy('seq', 'desc').limit(opts.limit).execute();
}

/** Oldest first: what a reconnecting stream missed. */
export function listAfter(db: Q, opts: { userId: string; afterSeq: string; limit: number }): Promise<NotificationRow[]> {
	return db
		.selectFrom('notifications')
		.selectAll()
		.where('user_id', '=', opts.userId)
		.where('seq', '>', opts.afterSeq)
		.orderBy('seq', 'asc')
		.limit(opts.limit)
		.execute();
}

export async function countUnread(db: Q, userId: string): Promise<number> {
	const r = await db
		.selectFrom('notifications')
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.where('user_id', '=', userId)
		.where('read_at', 'is', null)
		.executeTakeFirstOrThrow();
	return Number(r.n);
}

export async function markRead(db: Q, opts: { userId: string; id: string; at: Date }): Promise<boolean> {
	const r = await db
		.updateTable('notifications')
		.set({ read_at: opts.at })
		.where('id', '=', opts.id)
		.where('user_id', '=', opts.userId)
		.where('read_at', 'is', null)
		.executeTakeFirst();
	return Number(r.numUpdatedRows) > 0;
}

export async function markAllRead(db: Q, opts: { userId: string; at: Date }): Promise<number> {
	const r = await db
		.updateTable('notifications')
		.set({ read_at: opts.at })
		.where('user_id', '=', opts.userId)
		.where('read_at', 'is', null)
		.executeTakeFirst();
	return Number(r.numUpdatedRows);
}

// ---------- channels ----------

export function listChannels(db: Q): Promise<NotificationChannelRow[]> {
	return db.selectFrom('notification_channels').selectAll().orderBy('name').execute();
}

export function listEnabledChannels(db: Q): Promise<NotificationChannelRow[]> {
	return db.selectFrom('notification_channels').selectAll().where('enabled', '=', true).execute();
}

export function findChannel(db: Q, id: string): Promise<NotificationChannelRow | undefined> {
	return db.selectFrom('notification_channels').selectAll().where('id', '=', id).executeTakeFirst();
}

export function insertChannel(db: Q, row: Insertable<NotificationChannelTable>): Promise<NotificationChannelRow> {
	return db.insertInto('notification_channels').values(row).returningAll().executeTakeFirstOrThrow();
}

export function updateChannel(
	db: Q,
	id: string,
	patch: Partial<Pick<Insertable<NotificationChannelTable>, 'name' | 'config' | 'events' | 'locale' | 'enabled' | 'updated_at'>>
): Promise<NotificationChannelRow | undefined> {
	return db.updateTable('notification_channels').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteChannel(db: Q, id: string): Promise<boolean> {
	const r = await db.deleteFrom('notification_channels').where('id', '=', id).executeTakeFirst();
	return Number(r.numDeletedRows) > 0;
}

// ---------- deliveries ----------

/** Inserts, skipping (channel, dedupe key) pairs that exist already; returns only the new rows. */
export function insertDeliveries(db: Q, rows: Insertable<NotificationDeliveryTable>[]): Promise<NotificationDeliveryRow[]> {
	if (rows.length === 0) return Promise.resolve([]);
	return db
		.insertInto('notification_deliveries')
		.values(rows)
		.onConflict((oc) => oc.columns(['channel_id', 'dedupe_key']).doNothing())
		.returningAll()
		.execute();
}

export function findDelivery(db: Q, id: string): Promise<NotificationDeliveryRow | undefined> {
	return db.selectFrom('notification_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Claims up to `limit` due deliveries for `leaseMs`. `skip locked` lets several processes (on
 * PostgreSQL) work the queue side by side without taking the same row; on PGlite there is one
 * connection, so the statement simply runs alone. The lease means a worker that dies mid-post
 * leaves the row to be picked up again once the lease has run out.
 */
export async function claimDue(
	db: Kysely<Database>,
	opts: { now: Date; limit: number; leaseMs: number; ids?: string[] }
): Promise<NotificationDeliveryRow[]> {
	return db.transaction().execute(async (trx) => {
		let q = trx
			.selectFrom('notification_deliveries')
			.select('id')
			.where('status', '=', 'pending')
			.where('next_attempt_at', '<=', opts.now)
			.where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', opts.now)]));
		if (opts.ids) q = q.where('id', 'in', opts.ids);
		const due = await q.orderBy('next_attempt_at').limit(opts.limit).forUpdate().skipLocked().execute();
		if (due.length === 0) return [];
		return trx
			.updateTable('notification_deliveries')
			.set({ locked_until: new Date(opts.now.getTime() + opts.leaseMs) })
			.where(
				'id',
				'in',
				due.map((d) => d.id)
			)
			.returningAll()
			.execute();
	});
}

export function recordAttempt(
	db: Q,
	id: string,
	patch: {
		status: 'pending' | 'sent' | 'failed';
		attempts: number;
		nextAttemptAt: Date;
		lastAttemptAt: Date;
		lastStatusCode: number | null;
		lastResponse: string | null;
		lastError: string | null;
		sentAt: Date | null;
	}
): Promise<NotificationDeliveryRow | undefined> {
	return db
		.updateTable('notification_deliveries')
		.set({
			status: patch.status,
			attempts: patch.attempts,
			next_attempt_at: patch.nextAttemptAt,
			last_attempt_at: patch.lastAttemptAt,
			last_status_code: patch.lastStatusCode,
			last_response: patch.lastResponse,
			last_error: patch.lastError,
			sent_at: patch.sentAt,
			locked_until: null
		})
		.where('id', '=', id)
		.returningAll()
		.executeTakeFirst();
}

/** An admin asks for another try of a failed delivery: a fresh set of attempts, due now. */
export function requeue(db: Q, opts: { id: string; now: Date; maxAttempts: number }): Promise<NotificationDeliveryRow | undefined> {
	return db
		.updateTable('notification_deliveries')
		.set({ status: 'pending', attempts: 0, max_attempts: opts.maxAttempts, next_attempt_at: opts.now, locked_until: null })
		.where('id', '=', opts.id)
		.where('status', '=', 'failed')
		.returningAll()
		.executeTakeFirst();
}

export function listDeliveries(
	db: Q,
	opts: { channelId?: string; status?: 'pending' | 'sent' | 'failed'; limit: number }
): Promise<NotificationDeliveryRow[]> {
	let q = db.selectFrom('notification_deliveries').selectAll();
	if (opts.channelId) q = q.where('channel_id', '=', opts.channelId);
	if (opts.status) q = q.where('status', '=', opts.status);
	return q.orderBy('seq', 'desc').limit(opts.limit).execute();
}

/** Per channel: deliveries that failed for good, and those still waiting, for the admin list. */
export async function deliveryCounts(db: Q): Promise<Map<string, { failed: number; pending: number; lastSentAt: Date | null }>> {
	const rows = await db
		.selectFrom('notification_deliveries')
		.select([
			'channel_id',
			sql<string>`count(*) filter (where status = 'failed')`.as('failed'),
			sql<string>`count(*) filter (where status = 'pending')`.as('pending'),
			sql<Date | null>`max(sent_at)`.as('last_sent_at')
		])
		.groupBy('channel_id')
		.execute();
	return new Map(
		rows.map((r) => [
			r.channel_id,
			{ failed: Number(r.failed), pending: Number(r.pending), lastSentAt: r.last_sent_at ? new Date(r.last_sent_at) : null }
		])
	);
}
