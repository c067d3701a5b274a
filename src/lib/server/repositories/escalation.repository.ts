/**
 * The escalation policy row, the scheduler's leases and sent reminders, and recorded clock breaches.
 * SQL only; the rules live in domain/escalation-policy.ts and domain/clocks.ts.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { ClockBreachRow, Database } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

const POLICY_ROW_ID = 1;

export function findPolicy(db: Q) {
	return db.selectFrom('escalation_policy').selectAll().where('id', '=', POLICY_ROW_ID).executeTakeFirst();
}

export async function savePolicy(db: Q, row: { rules: unknown; updatedBy: string | null; at: Date }): Promise<void> {
	const values = { id: POLICY_ROW_ID, rules: JSON.stringify(row.rules), updated_by: row.updatedBy, updated_at: row.at };
	await db
		.insertInto('escalation_policy')
		.values(values)
		.onConflict((oc) => oc.column('id').doUpdateSet({ rules: values.rules, updated_by: values.updated_by, updated_at: values.updated_at }))
		.execute();
}

// ---- job leases ----

/**
 * Takes the lease on `name` for the cron slot `slot`, in one statement: a new row, or the existing
 * one when it is for an earlier slot and has expired (or was released). Returns whether it was taken.
 * Atomic on PostgreSQL and PGlite alike: of two nodes racing for the same slot, the second's
 * `on conflict … where` finds the first one's row (same slot, not expired) and updates nothing.
 */
export async function tryTakeLease(db: Q, opts: { name: string; holder: string; slot: Date; until: Date; now: Date }): Promise<boolean> {
	const r = await db
		.insertInto('job_leases')
		.values({ name: opts.name, holder: opts.holder, slot: opts.slot, until: opts.until })
		.onConflict((oc) =>
			oc
				.column('name')
				.doUpdateSet({ holder: opts.holder, slot: opts.slot, until: opts.until })
				.where('job_leases.slot', '<', opts.slot)
				.where('job_leases.until', '<=', opts.now)
		)
		.returning('name')
		.executeTakeFirst();
	return r !== undefined;
}

/** Ends the holder's lease early (the tick finished), keeping the slot so it is not run again. */
export async function releaseLease(db: Q, opts: { name: string; holder: string; now: Date }): Promise<void> {
	await db.updateTable('job_leases').set({ until: opts.now }).where('name', '=', opts.name).where('holder', '=', opts.holder).execute();
}

export function findLease(db: Q, name: string) {
	return db.selectFrom('job_leases').selectAll().where('name', '=', name).executeTakeFirst();
}

// ---- sent reminders ----

/**
 * Claims a reminder key; true for the one caller that inserted it. Called before sending, in the same
 * transaction as the rest of the tick's writes for that reminder.
 */
export async function claimReminder(
	db: Q,
	row: { key: string; incidentId: string; clockKind: string; stage: 'warning' | 'breach'; dueAt: Date; at: Date }
): Promise<boolean> {
	const r = await db
		.insertInto('reminders_sent')
		.values({ key: row.key, incident_id: row.incidentId, clock_kind: row.clockKind, stage: row.stage, due_at: row.dueAt, sent_at: row.at })
		.onConflict((oc) => oc.column('key').doNothing())
		.executeTakeFirst();
	return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function sentKeys(db: Q, incidentIds: readonly string[]): Promise<Set<string>> {
	if (incidentIds.length === 0) return new Set();
	const rows = await db
		.selectFrom('reminders_sent')
		.select('key')
		.where('incident_id', 'in', [...incidentIds])
		.execute();
	return new Set(rows.map((r) => r.key));
}

// ---- clock breaches ----

export async function recordBreach(
	db: Q,
	row: { id: string; incidentId: string; clockKind: string; subjectId: string; dueAt: Date; breachedAt: Date; metAt: Date | null }
): Promise<void> {
	await db
		.insertInto('clock_breaches')
		.values({
			id: row.id,
			incident_id: row.incidentId,
			clock_kind: row.clockKind,
			subject_id: row.subjectId,
			due_at: row.dueAt,
			breached_at: row.breachedAt,
			met_at: row.metAt
		})
		.onConflict((oc) =>
			// A late completion fills in met_at on the breach recorded earlier.
			oc.constraint('clock_breaches_once').doUpdateSet({ met_at: sql`coalesce(clock_breaches.met_at, excluded.met_at)` })
		)
		.execute();
}

export function listBreaches(db: Q, incidentIds: readonly string[]): Promise<ClockBreachRow[]> {
	if (incidentIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('clock_breaches')
		.selectAll()
		.where('incident_id', 'in', [...incidentIds])
		.orderBy('due_at')
		.execute();
}

// ---- reads the escalation features need from other features' tables ----

/** Parsed playbook snapshots loaded into an incident, in load order. */
export async function playbookSnapshots(db: Q, incidentId: string): Promise<unknown[]> {
	const rows = await db
		.selectFrom('incident_playbooks')
		.select('snapshot')
		.where('incident_id', '=', incidentId)
		.orderBy('loaded_at')
		.execute();
	return rows.map((r) => (typeof r.snapshot === 'string' ? (JSON.parse(r.snapshot) as unknown) : r.snapshot));
}

/** Active users in the given org units with one of the given global roles. */
export async function activeUsersIn(
	db: Q,
	opts: { orgUnitIds: readonly string[]; roles: readonly ('admin' | 'manager' | 'responder' | 'viewer')[] }
): Promise<string[]> {
	if (opts.orgUnitIds.length === 0 || opts.roles.length === 0) return [];
	const rows = await db
		.selectFrom('users')
		.select('id')
		.where('org_unit_id', 'in', [...opts.orgUnitIds])
		.where('disabled', '=', false)
		.where('global_role', 'in', [...opts.roles])
		.execute();
	return rows.map((r) => r.id);
}

/** Priority changes of these incidents from the audit log (the incidents table keeps no history). */
export async function priorityChanges(
	db: Q,
	incidentIds: readonly string[]
): Promise<{ incidentId: string; at: Date; before: string | null; after: string | null }[]> {
	if (incidentIds.length === 0) return [];
	const rows = await db
		.selectFrom('audit_events')
		.select(['subject_id', 'at', 'before', 'after'])
		.where('action', '=', 'incident.priority_change')
		.where('subject_type', '=', 'incident')
		.where('subject_id', 'in', [...incidentIds])
		.orderBy('seq')
		.execute();
	const pick = (v: unknown): string | null => {
		const o = (typeof v === 'string' ? JSON.parse(v) : v) as { priority?: unknown } | null;
		return typeof o?.priority === 'string' ? o.priority : null;
	};
	return rows.map((r) => ({ incidentId: r.subject_id ?? '', at: r.at, before: pick(r.before), after: pick(r.after) }));
}

/** Incidents whose clocks may run: declared or proposed, not closed or rejected. */
export function incidentsWithClocks(db: Q) {
	return db
		.selectFrom('incidents')
		.selectAll()
		.where('status', 'in', ['proposed', 'investigating', 'identified', 'mitigated', 'resolved'])
		.orderBy('created_at')
		.execute();
}

/** Approved communications not delivered yet (a crash between approval and delivery). */
export async function approvedUndelivered(db: Q): Promise<string[]> {
	const rows = await db.selectFrom('communications').select('id').where('state', '=', 'approved').execute();
	return rows.map((r) => r.id);
}
