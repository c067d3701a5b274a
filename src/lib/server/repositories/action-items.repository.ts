/** SQL for action items. Visibility and rules are decided in action-item.service.ts. */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { ActionItemRow, Database } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export type NewActionItem = Omit<ActionItemRow, 'version' | 'closed_at' | 'reminded_soon_for' | 'reminded_overdue_for'>;
export type ActionItemPatch = Partial<
	Pick<
		ActionItemRow,
		| 'title'
		| 'owner_id'
		| 'due_date'
		| 'type'
		| 'link'
		| 'status'
		| 'updated_at'
		| 'closed_at'
		| 'reminded_soon_for'
		| 'reminded_overdue_for'
	>
>;

export type ActionItemWithNames = ActionItemRow & {
	owner_name: string | null;
	owner_org_unit_id: string | null;
	incident_number: string;
	incident_title: string;
	incident_restricted: boolean;
};

function withNames(db: Q) {
	return db
		.selectFrom('action_items as a')
		.innerJoin('incidents as i', 'i.id', 'a.incident_id')
		.leftJoin('users as u', 'u.id', 'a.owner_id')
		.selectAll('a')
		.select([
			'u.display_name as owner_name',
			'u.org_unit_id as owner_org_unit_id',
			'i.number as incident_number',
			'i.title as incident_title',
			'i.restricted as incident_restricted'
		]);
}

export function insert(db: Q, row: NewActionItem): Promise<ActionItemRow> {
	return db.insertInto('action_items').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findById(db: Q, id: string): Promise<ActionItemWithNames | undefined> {
	return withNames(db).where('a.id', '=', id).executeTakeFirst();
}

export function update(db: Q, opts: { id: string; patch: ActionItemPatch; expectedVersion?: number }): Promise<ActionItemRow | undefined> {
	let q = db
		.updateTable('action_items')
		.set({ ...opts.patch, version: sql<number>`version + 1` })
		.where('id', '=', opts.id);
	if (opts.expectedVersion !== undefined) q = q.where('version', '=', opts.expectedVersion);
	return q.returningAll().executeTakeFirst();
}

export function listByIncident(db: Q, incidentId: string): Promise<ActionItemWithNames[]> {
	return withNames(db).where('a.incident_id', '=', incidentId).orderBy('a.created_at').execute();
}

/**
 * Open items (open or in progress), optionally only those owned by these users. Restricted incidents'
 * items are returned only where `visibleTo` is a member (or `visibleTo` is 'all').
 */
export function listOpen(
	db: Q,
	opts: { ownerIds?: readonly string[]; visibleTo: 'all' | { userId: string }; limit: number }
): Promise<ActionItemWithNames[]> {
	let q = withNames(db).where('a.status', 'in', ['open', 'in_progress']);
	if (opts.ownerIds) {
		if (opts.ownerIds.length === 0) return Promise.resolve([]);
		q = q.where('a.owner_id', 'in', [...opts.ownerIds]);
	}
	if (opts.visibleTo !== 'all') {
		const userId = opts.visibleTo.userId;
		q = q.where((eb) =>
			eb.or([
				eb('i.restricted', '=', false),
				eb.exists(
					eb
						.selectFrom('incident_members as m')
						.select('m.id')
						.whereRef('m.incident_id', '=', 'i.id')
						.where('m.user_id', '=', userId)
						.where('m.removed_at', 'is', null)
				)
			])
		);
	}
	return q
		.orderBy(sql`a.due_date nulls last`)
		.orderBy('a.created_at')
		.limit(opts.limit)
		.execute();
}

/** Open items due on or before `until` (YYYY-MM-DD) that have an owner: what the reminder job looks at. */
export function dueForReminder(db: Q, opts: { until: string; limit: number }): Promise<ActionItemWithNames[]> {
	return withNames(db)
		.where('a.status', 'in', ['open', 'in_progress'])
		.where('a.owner_id', 'is not', null)
		.where('a.due_date', '<=', opts.until)
		.orderBy('a.due_date')
		.limit(opts.limit)
		.execute();
}

/** Items of these incidents, or created/closed in [from, to) (for the monthly report). */
export function listForPeriod(db: Q, opts: { from: Date; to: Date; incidentIds?: readonly string[] }) {
	let q = db
		.selectFrom('action_items')
		.select(['id', 'incident_id', 'created_at', 'closed_at', 'due_date', 'status'])
		.where('created_at', '<', opts.to)
		.where((eb) => eb.or([eb('closed_at', 'is', null), eb('closed_at', '>=', opts.from)]));
	if (opts.incidentIds) {
		if (opts.incidentIds.length === 0) return Promise.resolve([]);
		q = q.where('incident_id', 'in', [...opts.incidentIds]);
	}
	return q.execute();
}

/**
 * Marks a reminder sent for the item's current due date, only if it was not already marked (two
 * nodes or a re-run cannot both send). Leaves `version` alone: a reminder must not make a person's
 * edit of the item look stale.
 */
export async function markReminded(db: Q, opts: { id: string; kind: 'soon' | 'overdue'; dueDate: string }): Promise<boolean> {
	const column = opts.kind === 'soon' ? 'reminded_soon_for' : 'reminded_overdue_for';
	const r = await db
		.updateTable('action_items')
		.set({ [column]: opts.dueDate })
		.where('id', '=', opts.id)
		.where('due_date', '=', opts.dueDate)
		.where((eb) => eb.or([eb(column, 'is', null), eb(column, '!=', opts.dueDate)]))
		.executeTakeFirst();
	return Number(r.numUpdatedRows) > 0;
}
