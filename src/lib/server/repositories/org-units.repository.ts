import type { Kysely, Transaction } from 'kysely';
import type { Database, OrgUnitRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export function list(db: Q): Promise<OrgUnitRow[]> {
	return db.selectFrom('org_units').selectAll().orderBy('code').execute();
}

export function findById(db: Q, id: string): Promise<OrgUnitRow | undefined> {
	return db.selectFrom('org_units').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findByCode(db: Q, code: string): Promise<OrgUnitRow | undefined> {
	return db.selectFrom('org_units').selectAll().where('code', '=', code).executeTakeFirst();
}

export async function insert(db: Q, row: Omit<OrgUnitRow, 'created_at'>): Promise<OrgUnitRow> {
	return db.insertInto('org_units').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function update(db: Q, id: string, patch: Partial<Omit<OrgUnitRow, 'id' | 'created_at'>>): Promise<OrgUnitRow | undefined> {
	return db.updateTable('org_units').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
}
