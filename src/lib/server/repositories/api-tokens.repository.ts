import type { Kysely, Transaction } from 'kysely';
import type { ApiTokenRow, Database } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export async function insert(db: Q, row: Omit<ApiTokenRow, 'created_at' | 'last_used_at' | 'revoked_at'>): Promise<void> {
	await db.insertInto('api_tokens').values(row).execute();
}

export function findById(db: Q, id: string): Promise<ApiTokenRow | undefined> {
	return db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

export function list(db: Q): Promise<ApiTokenRow[]> {
	return db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc').execute();
}

export async function markUsed(db: Q, id: string, at: Date): Promise<void> {
	await db.updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
}

export async function revoke(db: Q, id: string, at: Date): Promise<boolean> {
	const r = await db
		.updateTable('api_tokens')
		.set({ revoked_at: at })
		.where('id', '=', id)
		.where('revoked_at', 'is', null)
		.executeTakeFirst();
	return Number(r.numUpdatedRows) > 0;
}
