import { sql, type Kysely, type Transaction } from 'kysely';
import type { Insertable } from 'kysely';
import type { AuditEventRow, AuditEventTable, Database } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

/** Serialises appends to the chain across processes for the rest of the transaction. */
export async function lockChain(trx: Transaction<Database>): Promise<void> {
	await sql`select pg_advisory_xact_lock(7301001)`.execute(trx);
}

export async function last(db: Q): Promise<AuditEventRow | undefined> {
	return db.selectFrom('audit_events').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
}

export async function insert(db: Q, row: Insertable<AuditEventTable>): Promise<void> {
	await db.insertInto('audit_events').values(row).execute();
}

export async function page(db: Q, opts: { afterSeq: string; limit: number }): Promise<AuditEventRow[]> {
	return db.selectFrom('audit_events').selectAll().where('seq', '>', opts.afterSeq).orderBy('seq').limit(opts.limit).execute();
}

export async function forSubject(db: Q, opts: { subjectType: string; subjectId: string; limit: number }): Promise<AuditEventRow[]> {
	return db
		.selectFrom('audit_events')
		.selectAll()
		.where('subject_type', '=', opts.subjectType)
		.where('subject_id', '=', opts.subjectId)
		.orderBy('seq', 'desc')
		.limit(opts.limit)
		.execute();
}

export async function recent(db: Q, limit: number): Promise<AuditEventRow[]> {
	return db.selectFrom('audit_events').selectAll().orderBy('seq', 'desc').limit(limit).execute();
}
