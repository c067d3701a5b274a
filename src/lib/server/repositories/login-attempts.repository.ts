import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export async function record(db: Q, rows: { key: string; at: Date; success: boolean }[]): Promise<void> {
	if (rows.length) await db.insertInto('login_attempts').values(rows).execute();
}

/** Failed attempts for a key since `since`, newest first (only their times are needed). */
export async function failuresSince(db: Q, key: string, since: Date): Promise<Date[]> {
	const rows = await db
		.selectFrom('login_attempts')
		.select('at')
		.where('key', '=', key)
		.where('success', '=', false)
		.where('at', '>=', since)
		.orderBy('at', 'desc')
		.execute();
	return rows.map((r) => r.at);
}

export async function clearFailures(db: Q, key: string): Promise<void> {
	await db.deleteFrom('login_attempts').where('key', '=', key).where('success', '=', false).execute();
}

export async function prune(db: Q, before: Date): Promise<void> {
	await db.deleteFrom('login_attempts').where('at', '<', before).execute();
}
