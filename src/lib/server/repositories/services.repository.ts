import type { Kysely, Transaction } from 'kysely';
import type { Database, ServiceRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export function list(db: Q): Promise<ServiceRow[]> {
	return db.selectFrom('services').selectAll().orderBy('code').execute();
}

export function findById(db: Q, id: string): Promise<ServiceRow | undefined> {
	return db.selectFrom('services').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findByCode(db: Q, code: string): Promise<ServiceRow | undefined> {
	return db.selectFrom('services').selectAll().where('code', '=', code).executeTakeFirst();
}

export function listByIds(db: Q, ids: string[]): Promise<ServiceRow[]> {
	if (ids.length === 0) return Promise.resolve([]);
	return db.selectFrom('services').selectAll().where('id', 'in', ids).execute();
}

export async function insert(db: Q, row: Omit<ServiceRow, 'created_at'>): Promise<ServiceRow> {
	return db.insertInto('services').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function update(db: Q, id: string, patch: Partial<Omit<ServiceRow, 'id' | 'created_at'>>): Promise<ServiceRow | undefined> {
	return db.updateTable('services').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
}
