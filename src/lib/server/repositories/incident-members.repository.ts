import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, IncidentMemberRow, UserRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export type NewMember = Pick<IncidentMemberRow, 'id' | 'incident_id' | 'user_id' | 'role' | 'added_by' | 'added_at'> &
	Partial<Pick<IncidentMemberRow, 'paged_at' | 'last_paged_at' | 'acked_at'>> & { page_count?: number };

export type MemberPatch = Partial<
	Pick<IncidentMemberRow, 'role' | 'paged_at' | 'last_paged_at' | 'acked_at' | 'removed_at' | 'removed_by'>
> & { page_count?: number };

export function insert(db: Q, row: NewMember): Promise<IncidentMemberRow> {
	return db.insertInto('incident_members').values(row).returningAll().executeTakeFirstOrThrow();
}

export function update(db: Q, opts: { id: string; patch: MemberPatch }): Promise<IncidentMemberRow | undefined> {
	return db.updateTable('incident_members').set(opts.patch).where('id', '=', opts.id).returningAll().executeTakeFirst();
}

/** Marks a page sent: the first page time stays, the latest and the count move on. */
export function markPaged(db: Q, opts: { id: string; at: Date }): Promise<IncidentMemberRow | undefined> {
	return db
		.updateTable('incident_members')
		.set({
			paged_at: sql<Date>`coalesce(paged_at, ${opts.at})`,
			last_paged_at: opts.at,
			page_count: sql<number>`page_count + 1`
		})
		.where('id', '=', opts.id)
		.returningAll()
		.executeTakeFirst();
}

export function findActive(db: Q, opts: { incidentId: string; userId: string }): Promise<IncidentMemberRow | undefined> {
	return db
		.selectFrom('incident_members')
		.selectAll()
		.where('incident_id', '=', opts.incidentId)
		.where('user_id', '=', opts.userId)
		.where('removed_at', 'is', null)
		.executeTakeFirst();
}

export type AccessFacts = {
	global_role: UserRow['global_role'];
	disabled: boolean;
	restricted: boolean;
	member_role: IncidentMemberRow['role'] | null;
};

/**
 * What decides users' access to an incident's room, for several users of one incident in one round
 * trip (every WebSocket upgrade asks, and a join storm asks together): each user's global role and
 * disabled flag, the incident's restricted flag and the user's active incident role. Users that do not
 * exist, or all of them when the incident does not, are missing from the map.
 */
export async function accessFactsMany(db: Q, incidentId: string, userIds: readonly string[]): Promise<Map<string, AccessFacts>> {
	const out = new Map<string, AccessFacts>();
	if (userIds.length === 0) return out;
	const rows = await db
		.selectFrom('incidents as i')
		.innerJoin('users as u', (j) => j.on('u.id', 'in', [...new Set(userIds)]))
		.leftJoin('incident_members as m', (j) =>
			j.onRef('m.incident_id', '=', 'i.id').onRef('m.user_id', '=', 'u.id').on('m.removed_at', 'is', null)
		)
		.select(['u.id as user_id', 'u.global_role', 'u.disabled', 'i.restricted', 'm.role as member_role'])
		.where('i.id', '=', incidentId)
		.execute();
	for (const { user_id, ...facts } of rows) out.set(user_id, facts);
	return out;
}

/** What decides anyone's access to an incident's room, read once for all its users (see `roomFactsMany`). */
export type RoomFacts = {
	restricted: boolean;
	/** Active members and their incident roles. */
	members: Map<string, IncidentMemberRow['role']>;
};

/**
 * The room facts of several incidents in one round trip: each incident's restricted flag and its active
 * members with their roles. A storm of upgrades to one room reads this once, whoever the users are;
 * the users' own facts come from their validated sessions. Incidents that do not exist are missing.
 */
export async function roomFactsMany(db: Q, incidentIds: readonly string[]): Promise<Map<string, RoomFacts>> {
	const out = new Map<string, RoomFacts>();
	if (incidentIds.length === 0) return out;
	const rows = await db
		.selectFrom('incidents as i')
		.leftJoin('incident_members as m', (j) => j.onRef('m.incident_id', '=', 'i.id').on('m.removed_at', 'is', null))
		.select(['i.id', 'i.restricted', 'm.user_id', 'm.role'])
		.where('i.id', 'in', [...new Set(incidentIds)])
		.execute();
	for (const row of rows) {
		let facts = out.get(row.id);
		if (!facts) out.set(row.id, (facts = { restricted: row.restricted, members: new Map() }));
		if (row.user_id !== null && row.role !== null) facts.members.set(row.user_id, row.role);
	}
	return out;
}

export function findActiveManager(db: Q, incidentId: string): Promise<IncidentMemberRow | undefined> {
	return db
		.selectFrom('incident_members')
		.selectAll()
		.where('incident_id', '=', incidentId)
		.where('role', '=', 'incident_manager')
		.where('removed_at', 'is', null)
		.executeTakeFirst();
}

export type MemberWithUser = IncidentMemberRow & {
	username: string;
	display_name: string;
	email: string | null;
	phone: string | null;
	org_unit_id: string | null;
	global_role: UserRow['global_role'];
	disabled: boolean;
};

/** Active members of the incidents with their contact details, in the order they joined. */
export function listActive(db: Q, incidentIds: readonly string[]): Promise<MemberWithUser[]> {
	if (incidentIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('incident_members as m')
		.innerJoin('users as u', 'u.id', 'm.user_id')
		.selectAll('m')
		.select(['u.username', 'u.display_name', 'u.email', 'u.phone', 'u.org_unit_id', 'u.global_role', 'u.disabled'])
		.where('m.incident_id', 'in', incidentIds)
		.where('m.removed_at', 'is', null)
		.orderBy('m.added_at')
		.orderBy('u.username')
		.execute();
}

/** Paged, not acknowledged, last paged before `pagedBefore`: what a re-page job picks up. */
export function pendingAcks(db: Q, opts: { pagedBefore: Date; incidentId?: string }): Promise<IncidentMemberRow[]> {
	let q = db
		.selectFrom('incident_members')
		.selectAll()
		.where('removed_at', 'is', null)
		.where('paged_at', 'is not', null)
		.where('acked_at', 'is', null)
		.where('last_paged_at', '<', opts.pagedBefore);
	if (opts.incidentId) q = q.where('incident_id', '=', opts.incidentId);
	return q.orderBy('last_paged_at').execute();
}
