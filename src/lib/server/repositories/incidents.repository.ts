import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, IncidentRow, IncidentUpdate, NewIncidentRow, ServiceRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

/** Statuses in which a dedupe key must be unique (mirrors the partial index in the migration). */
export const DEDUPE_STATUSES = ['proposed', 'investigating', 'identified', 'mitigated'] as const;

/** The ids of the `limit` incidents in one of `statuses` changed most recently. */
export async function latestUpdatedIds(db: Q, opts: { statuses: readonly IncidentRow['status'][]; limit: number }): Promise<string[]> {
	const rows = await db
		.selectFrom('incidents')
		.select('id')
		.where('status', 'in', [...opts.statuses])
		.orderBy('updated_at', 'desc')
		.limit(opts.limit)
		.execute();
	return rows.map((r) => r.id);
}

/** The next sequence number of `day` (YYYYMMDD); atomic under concurrency (one upsert statement). */
export async function nextSeq(db: Q, day: string): Promise<number> {
	const row = await db
		.insertInto('incident_counters')
		.values({ day, seq: 1 })
		.onConflict((oc) => oc.column('day').doUpdateSet({ seq: sql<number>`incident_counters.seq + 1` }))
		.returning('seq')
		.executeTakeFirstOrThrow();
	return Number(row.seq);
}

export function insert(db: Q, row: NewIncidentRow): Promise<IncidentRow> {
	return db.insertInto('incidents').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findById(db: Q, id: string): Promise<IncidentRow | undefined> {
	return db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findByNumber(db: Q, number: string): Promise<IncidentRow | undefined> {
	return db.selectFrom('incidents').selectAll().where('number', '=', number).executeTakeFirst();
}

/** Locks the row for the rest of the transaction, so two writers apply their changes one after the other. */
export function findByIdForUpdate(trx: Transaction<Database>, id: string): Promise<IncidentRow | undefined> {
	return trx.selectFrom('incidents').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export function findOpenByDedupeKey(db: Q, dedupeKey: string): Promise<IncidentRow | undefined> {
	return db
		.selectFrom('incidents')
		.selectAll()
		.where('dedupe_key', '=', dedupeKey)
		.where('status', 'in', DEDUPE_STATUSES)
		.executeTakeFirst();
}

/**
 * Applies `patch` and bumps `version`. With `expectedVersion`, only if the row still has it
 * (optimistic concurrency); returns undefined when the row is gone or the version moved on.
 */
export function update(db: Q, opts: { id: string; patch: IncidentUpdate; expectedVersion?: number }): Promise<IncidentRow | undefined> {
	let q = db
		.updateTable('incidents')
		.set({ ...opts.patch, version: sql<number>`version + 1` })
		.where('id', '=', opts.id);
	if (opts.expectedVersion !== undefined) q = q.where('version', '=', opts.expectedVersion);
	return q.returningAll().executeTakeFirst();
}

/** A deduplicated alert fired again: a counter, not an edit, so the version stays. */
export async function recordRepeat(db: Q, opts: { id: string; at: Date }): Promise<void> {
	await db
		.updateTable('incidents')
		.set({ repeat_count: sql<number>`repeat_count + 1`, last_repeated_at: opts.at })
		.where('id', '=', opts.id)
		.execute();
}

/** The first acknowledgement (MTTA): set once, and not an edit, so the version stays. */
export async function stampFirstAck(db: Q, opts: { id: string; at: Date }): Promise<void> {
	await db
		.updateTable('incidents')
		.set({ first_acked_at: opts.at })
		.where('id', '=', opts.id)
		.where('first_acked_at', 'is', null)
		.execute();
}

export interface ListQuery {
	statuses?: readonly IncidentRow['status'][];
	priorities?: readonly IncidentRow['priority'][];
	serviceId?: string;
	/** Only incidents where this user is an active member. */
	memberUserId?: string;
	drill?: boolean;
	restricted?: boolean;
	/** Substring of the number, title or description (case-insensitive). */
	q?: string;
	/**
	 * Which restricted incidents to include: all of them, or only those where this user is an
	 * active member. The caller decides; the repository only builds the SQL.
	 */
	restrictedVisibleTo: 'all' | { userId: string };
	limit: number;
}

function escapeLike(s: string): string {
	return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function list(db: Q, query: ListQuery): Promise<IncidentRow[]> {
	let q = db.selectFrom('incidents').selectAll('incidents');
	const memberOf = (userId: string) =>
		sql<boolean>`exists (select 1 from incident_members m where m.incident_id = incidents.id and m.user_id = ${userId} and m.removed_at is null)`;
	if (query.restrictedVisibleTo !== 'all') {
		const userId = query.restrictedVisibleTo.userId;
		q = q.where((eb) => eb.or([eb('incidents.restricted', '=', false), eb(memberOf(userId), '=', true)]));
	}
	if (query.statuses?.length) q = q.where('incidents.status', 'in', query.statuses);
	if (query.priorities?.length) q = q.where('incidents.priority', 'in', query.priorities);
	if (query.serviceId) {
		const serviceId = query.serviceId;
		q = q.where(({ exists, selectFrom }) =>
			exists(
				selectFrom('incident_services as s')
					.select('s.service_id')
					.whereRef('s.incident_id', '=', 'incidents.id')
					.where('s.service_id', '=', serviceId)
			)
		);
	}
	if (query.memberUserId) q = q.where(memberOf(query.memberUserId), '=', true);
	if (query.drill !== undefined) q = q.where('incidents.drill', '=', query.drill);
	if (query.restricted !== undefined) q = q.where('incidents.restricted', '=', query.restricted);
	if (query.q) {
		const pattern = `%${escapeLike(query.q)}%`;
		q = q.where((eb) =>
			eb.or([
				eb('incidents.number', 'ilike', pattern),
				eb('incidents.title', 'ilike', pattern),
				eb('incidents.description', 'ilike', pattern)
			])
		);
	}
	return q.orderBy('incidents.created_at', 'desc').orderBy('incidents.number', 'desc').limit(query.limit).execute();
}

export async function setServices(db: Q, opts: { incidentId: string; serviceIds: readonly string[] }): Promise<void> {
	await db.deleteFrom('incident_services').where('incident_id', '=', opts.incidentId).execute();
	if (opts.serviceIds.length)
		await db
			.insertInto('incident_services')
			.values(opts.serviceIds.map((service_id) => ({ incident_id: opts.incidentId, service_id })))
			.execute();
}

/** The affected services of each incident, in catalogue (code) order. */
export async function servicesOf(db: Q, incidentIds: readonly string[]): Promise<Map<string, ServiceRow[]>> {
	const out = new Map<string, ServiceRow[]>();
	if (incidentIds.length === 0) return out;
	const rows = await db
		.selectFrom('incident_services as is')
		.innerJoin('services as s', 's.id', 'is.service_id')
		.selectAll('s')
		.select('is.incident_id')
		.where('is.incident_id', 'in', incidentIds)
		.orderBy('s.code')
		.execute();
	for (const { incident_id, ...service } of rows) {
		const list = out.get(incident_id) ?? [];
		list.push(service);
		out.set(incident_id, list);
	}
	return out;
}
