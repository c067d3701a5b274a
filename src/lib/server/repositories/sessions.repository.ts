import type { Kysely, Transaction } from 'kysely';
import type { Database, SessionRow, UserRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export async function insert(db: Q, row: SessionRow): Promise<void> {
	await db.insertInto('sessions').values(row).execute();
}

function sessionsWithUsers(db: Q) {
	return db
		.selectFrom('sessions')
		.innerJoin('users', 'users.id', 'sessions.user_id')
		.select([
			'sessions.id as s_id',
			'sessions.secret_hash as s_secret_hash',
			'sessions.user_id as s_user_id',
			'sessions.created_at as s_created_at',
			'sessions.last_seen_at as s_last_seen_at',
			'sessions.ip as s_ip',
			'sessions.user_agent as s_user_agent'
		])
		.selectAll('users');
}

export async function findWithUser(db: Q, id: string): Promise<{ session: SessionRow; user: UserRow } | undefined> {
	return (await findManyWithUser(db, [id])).get(id);
}

/** Sessions with their users by id, in one query (a storm of upgrades or requests asks together); unknown ids are absent. */
export async function findManyWithUser(db: Q, ids: readonly string[]): Promise<Map<string, { session: SessionRow; user: UserRow }>> {
	const found = new Map<string, { session: SessionRow; user: UserRow }>();
	if (ids.length === 0) return found;
	const rows = await sessionsWithUsers(db)
		.where('sessions.id', 'in', [...new Set(ids)])
		.execute();
	for (const row of rows) {
		const { s_id, s_secret_hash, s_user_id, s_created_at, s_last_seen_at, s_ip, s_user_agent, ...user } = row;
		found.set(s_id, {
			session: {
				id: s_id,
				secret_hash: s_secret_hash,
				user_id: s_user_id,
				created_at: s_created_at,
				last_seen_at: s_last_seen_at,
				ip: s_ip,
				user_agent: s_user_agent
			},
			user: user as UserRow
		});
	}
	return found;
}

/** Slides the idle timeout of these sessions to `at`, in one statement. */
export async function touchMany(db: Q, ids: readonly string[], at: Date): Promise<void> {
	if (ids.length === 0) return;
	await db
		.updateTable('sessions')
		.set({ last_seen_at: at })
		.where('id', 'in', [...new Set(ids)])
		.execute();
}

/** The ids of the `limit` sessions used most recently. */
export async function latestIds(db: Q, limit: number): Promise<string[]> {
	const rows = await db.selectFrom('sessions').select('id').orderBy('last_seen_at', 'desc').limit(limit).execute();
	return rows.map((r) => r.id);
}

export async function remove(db: Q, id: string): Promise<void> {
	await db.deleteFrom('sessions').where('id', '=', id).execute();
}

export async function removeForUser(db: Q, userId: string): Promise<string[]> {
	const rows = await db.deleteFrom('sessions').where('user_id', '=', userId).returning('id').execute();
	return rows.map((r) => r.id);
}

export async function removeExpired(db: Q, opts: { idleBefore: Date; createdBefore: Date }): Promise<number> {
	const rows = await db
		.deleteFrom('sessions')
		.where((eb) => eb.or([eb('last_seen_at', '<', opts.idleBefore), eb('created_at', '<', opts.createdBefore)]))
		.returning('id')
		.execute();
	return rows.length;
}
