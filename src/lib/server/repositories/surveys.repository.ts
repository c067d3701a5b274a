/** SQL for satisfaction surveys (回访满意度). Tokens are stored only as their sha256. */
import type { Kysely, Transaction } from 'kysely';
import type { Database, SurveyRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

/** Inserts unless this owner was already asked about this service for this incident; true when inserted. */
export async function insertIfAbsent(db: Q, row: Omit<SurveyRow, 'used_at' | 'score' | 'comment'>): Promise<boolean> {
	const r = await db
		.insertInto('surveys')
		.values(row)
		.onConflict((oc) => oc.columns(['incident_id', 'service_id', 'recipient_id']).doNothing())
		.executeTakeFirst();
	return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export function findByTokenHash(db: Q, tokenHash: string) {
	return db
		.selectFrom('surveys as s')
		.innerJoin('incidents as i', 'i.id', 's.incident_id')
		.innerJoin('services as sv', 'sv.id', 's.service_id')
		.selectAll('s')
		.select([
			'i.number as incident_number',
			'i.title as incident_title',
			'i.resolved_at',
			'sv.code as service_code',
			'sv.name_zh as service_name_zh',
			'sv.name_en as service_name_en'
		])
		.where('s.token_hash', '=', tokenHash)
		.executeTakeFirst();
}

/**
 * Records the answer only while unused and unexpired, in one statement: two submissions racing
 * cannot both win. Undefined when the survey was used or expired in the meantime.
 */
export function answer(db: Q, opts: { id: string; score: number; comment: string | null; at: Date }) {
	return db
		.updateTable('surveys')
		.set({ score: opts.score, comment: opts.comment, used_at: opts.at })
		.where('id', '=', opts.id)
		.where('used_at', 'is', null)
		.where('expires_at', '>', opts.at)
		.returningAll()
		.executeTakeFirst();
}

export function listByIncidents(db: Q, incidentIds: readonly string[]) {
	if (incidentIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('surveys as s')
		.innerJoin('services as sv', 'sv.id', 's.service_id')
		.innerJoin('users as u', 'u.id', 's.recipient_id')
		.select([
			's.id',
			's.incident_id',
			's.service_id',
			's.score',
			's.comment',
			's.used_at',
			's.expires_at',
			'sv.code as service_code',
			'u.display_name as recipient_name'
		])
		.where('s.incident_id', 'in', [...incidentIds])
		.orderBy('s.created_at')
		.execute();
}

/** Resolved or closed incidents whose affected services' owners have not all been asked yet. */
export function incidentsAwaitingSurveys(db: Q, opts: { resolvedSince: Date; limit: number }) {
	return db
		.selectFrom('incidents as i')
		.select(['i.id'])
		.where('i.status', 'in', ['resolved', 'closed'])
		.where('i.drill', '=', false)
		.where('i.resolved_at', '>=', opts.resolvedSince)
		.where((eb) => eb.not(eb.exists(eb.selectFrom('surveys as s').select('s.id').whereRef('s.incident_id', '=', 'i.id'))))
		.orderBy('i.resolved_at')
		.limit(opts.limit)
		.execute();
}
