import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, NewUserRow, UserRow, UserUpdate } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export function findById(db: Q, id: string): Promise<UserRow | undefined> {
	return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findByUsername(db: Q, username: string): Promise<UserRow | undefined> {
	return db
		.selectFrom('users')
		.selectAll()
		.where(sql<string>`lower(username)`, '=', username.toLowerCase())
		.executeTakeFirst();
}

export function list(db: Q): Promise<UserRow[]> {
	return db.selectFrom('users').selectAll().orderBy('username').execute();
}

export function listByOrgUnit(db: Q, orgUnitId: string): Promise<UserRow[]> {
	return db.selectFrom('users').selectAll().where('org_unit_id', '=', orgUnitId).orderBy('username').execute();
}

export function listByIds(db: Q, ids: string[]): Promise<UserRow[]> {
	if (ids.length === 0) return Promise.resolve([]);
	return db.selectFrom('users').selectAll().where('id', 'in', ids).execute();
}

export function count(db: Q): Promise<number> {
	return db
		.selectFrom('users')
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.executeTakeFirstOrThrow()
		.then((r) => Number(r.n));
}

export async function insert(db: Q, row: NewUserRow): Promise<UserRow> {
	return db.insertInto('users').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function update(db: Q, id: string, patch: UserUpdate): Promise<UserRow | undefined> {
	return db.updateTable('users').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
}
