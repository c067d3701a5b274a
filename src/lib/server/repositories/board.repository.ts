/**
 * SQL for the executive status board: extra facts about the incidents on it, head-office report state
 * and clock facts (tables of the escalation feature, read only), the history window, update-request
 * counts, and share links. SQL only; visibility and rules are decided in board.service.ts.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, IncidentRow, ShareLinkRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export interface IncidentFacts {
	id: string;
	priority: Database['incidents']['priority'];
	status: Database['incidents']['status'];
	drill: boolean;
	declared_at: Date | null;
	first_acked_at: Date | null;
	reopened_at: Date | null;
	/** Regions of the affected services, duplicates kept (the policy counts distinct ones). */
	regions: string[];
}

/** Whole incident rows, for the escalation feature's clock evaluation. */
export function incidentRows(db: Q, ids: readonly string[]): Promise<IncidentRow[]> {
	if (ids.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('incidents')
		.selectAll()
		.where('id', 'in', [...ids])
		.execute();
}

/** Times the board needs beyond the incident summary, and the regions of the affected services. */
export async function incidentFacts(db: Q, ids: readonly string[]): Promise<Map<string, IncidentFacts>> {
	const out = new Map<string, IncidentFacts>();
	if (ids.length === 0) return out;
	const [rows, regions] = await Promise.all([
		db
			.selectFrom('incidents')
			.select(['id', 'priority', 'status', 'drill', 'declared_at', 'first_acked_at', 'reopened_at'])
			.where('id', 'in', [...ids])
			.execute(),
		db
			.selectFrom('incident_services as is')
			.innerJoin('services as s', 's.id', 'is.service_id')
			.select(['is.incident_id', 's.regions'])
			.where('is.incident_id', 'in', [...ids])
			.execute()
	]);
	for (const r of rows) out.set(r.id, { ...r, regions: [] });
	for (const r of regions) out.get(r.incident_id)?.regions.push(...(r.regions ?? []));
	return out;
}

export interface HeadOfficeReportState {
	incident_id: string;
	report_kind: 'initial' | 'progress' | 'final' | null;
	sequence: number;
	sent_at: Date;
	/** The first acknowledgement by anyone in head office, or null. */
	acked_at: Date | null;
	reports_sent: number;
}

/** The latest sent report to head office per incident, with its first acknowledgement. */
export async function lastSentReports(db: Q, incidentIds: readonly string[]): Promise<HeadOfficeReportState[]> {
	if (incidentIds.length === 0) return [];
	const rows = await db
		.selectFrom('communications as c')
		.select([
			'c.incident_id',
			'c.report_kind',
			'c.sequence',
			'c.sent_at',
			sql<Date | null>`(select min(a.acked_at) from head_office_acks a where a.communication_id = c.id)`.as('acked_at'),
			sql<string>`count(*) over (partition by c.incident_id)`.as('reports_sent')
		])
		.distinctOn('c.incident_id')
		.where('c.incident_id', 'in', [...incidentIds])
		.where('c.kind', '=', 'head_office_report')
		.where('c.state', '=', 'sent')
		.where('c.sent_at', 'is not', null)
		.orderBy('c.incident_id')
		.orderBy('c.sent_at', 'desc')
		.execute();
	return rows.map((r) => ({
		incident_id: r.incident_id,
		report_kind: r.report_kind,
		sequence: r.sequence,
		sent_at: r.sent_at!,
		acked_at: r.acked_at ? new Date(r.acked_at) : null,
		reports_sent: Number(r.reports_sent)
	}));
}

// ---- history ----

export interface HistoryIncident {
	id: string;
	priority: Database['incidents']['priority'];
	drill: boolean;
	detected_at: Date;
	declared_at: Date | null;
	first_acked_at: Date | null;
	mitigated_at: Date | null;
	resolved_at: Date | null;
	service_ids: string[];
}

/**
 * Declared incidents whose response started in `[since, until)` (rejected proposals and proposals
 * never accepted are not incidents). `restricted` says which restricted incidents to include: none
 * (share links), all (admins) or those where the user is an active member.
 */
export async function historyIncidents(
	db: Q,
	opts: { since: Date; until: Date; restricted: 'none' | 'all' | { memberUserId: string } }
): Promise<HistoryIncident[]> {
	let q = db
		.selectFrom('incidents as i')
		.select([
			'i.id',
			'i.priority',
			'i.drill',
			'i.detected_at',
			'i.declared_at',
			'i.first_acked_at',
			'i.mitigated_at',
			'i.resolved_at',
			sql<
				string[]
			>`coalesce((select array_agg(s.service_id order by s.service_id) from incident_services s where s.incident_id = i.id), '{}')`.as(
				'service_ids'
			)
		])
		.where('i.declared_at', 'is not', null)
		.where('i.status', 'not in', ['proposed', 'rejected'])
		.where(sql<Date>`coalesce(i.detected_at, i.declared_at)`, '>=', opts.since)
		.where(sql<Date>`coalesce(i.detected_at, i.declared_at)`, '<', opts.until);
	const r = opts.restricted;
	if (r === 'none') q = q.where('i.restricted', '=', false);
	else if (r !== 'all') {
		const userId = r.memberUserId;
		q = q.where((eb) =>
			eb.or([
				eb('i.restricted', '=', false),
				eb(
					sql<boolean>`exists (select 1 from incident_members m where m.incident_id = i.id and m.user_id = ${userId} and m.removed_at is null)`,
					'=',
					true
				)
			])
		);
	}
	return q.orderBy('i.detected_at').execute();
}

export interface ClockFacts {
	/** Sent head-office reports with their first acknowledgement. */
	reports: {
		incident_id: string;
		id: string;
		report_kind: 'initial' | 'progress' | 'final' | null;
		sent_at: Date;
		acked_at: Date | null;
	}[];
	/** Pages to members (the current page of each membership). */
	pages: { incident_id: string; user_id: string; paged_at: Date; acked_at: Date | null }[];
	/** Recorded breaches (the escalation job writes one per missed deadline). */
	breaches: { incident_id: string; clock_kind: string; due_at: Date; met_at: Date | null }[];
	/** Approved status updates: each one is an update delivered for the rolling update clock. */
	approvedUpdates: { incident_id: string; approved_at: Date }[];
}

/** What the SLA figures are computed from, for these incidents. */
export async function clockFacts(db: Q, incidentIds: readonly string[]): Promise<ClockFacts> {
	if (incidentIds.length === 0) return { reports: [], pages: [], breaches: [], approvedUpdates: [] };
	const ids = [...incidentIds];
	const [reports, pages, breaches, approvedUpdates] = await Promise.all([
		db
			.selectFrom('communications as c')
			.select([
				'c.incident_id',
				'c.id',
				'c.report_kind',
				'c.sent_at',
				sql<Date | null>`(select min(a.acked_at) from head_office_acks a where a.communication_id = c.id)`.as('acked_at')
			])
			.where('c.incident_id', 'in', ids)
			.where('c.kind', '=', 'head_office_report')
			.where('c.state', '=', 'sent')
			.where('c.sent_at', 'is not', null)
			.orderBy('c.sent_at')
			.execute(),
		db
			.selectFrom('incident_members')
			.select(['incident_id', 'user_id', 'paged_at', 'acked_at'])
			.where('incident_id', 'in', ids)
			.where('paged_at', 'is not', null)
			.execute(),
		db.selectFrom('clock_breaches').select(['incident_id', 'clock_kind', 'due_at', 'met_at']).where('incident_id', 'in', ids).execute(),
		db
			.selectFrom('communications')
			.select(['incident_id', 'approved_at'])
			.where('incident_id', 'in', ids)
			.where('kind', '=', 'status_update')
			.where('state', 'in', ['approved', 'sent'])
			.where('approved_at', 'is not', null)
			.execute()
	]);
	return {
		reports: reports.map((r) => ({ ...r, sent_at: r.sent_at!, acked_at: r.acked_at ? new Date(r.acked_at) : null })),
		pages: pages.map((p) => ({ ...p, paged_at: p.paged_at! })),
		breaches,
		approvedUpdates: approvedUpdates.map((u) => ({ incident_id: u.incident_id, approved_at: u.approved_at! }))
	};
}

/** The user's latest unanswered update request on the incident (to damp repeated clicks). */
export function lastOpenRequestBy(db: Q, opts: { incidentId: string; userId: string }) {
	return db
		.selectFrom('update_requests')
		.select(['id', 'requested_at'])
		.where('incident_id', '=', opts.incidentId)
		.where('requested_by', '=', opts.userId)
		.where('answered_at', 'is', null)
		.orderBy('requested_at', 'desc')
		.limit(1)
		.executeTakeFirst();
}

/** Open (unanswered) update requests per incident. */
export async function openRequestCounts(db: Q, incidentIds: readonly string[]): Promise<Map<string, number>> {
	const out = new Map<string, number>();
	if (incidentIds.length === 0) return out;
	const rows = await db
		.selectFrom('update_requests')
		.select(['incident_id', sql<string>`count(*)`.as('n')])
		.where('incident_id', 'in', [...incidentIds])
		.where('answered_at', 'is', null)
		.groupBy('incident_id')
		.execute();
	for (const r of rows) out.set(r.incident_id, Number(r.n));
	return out;
}

// ---- share links ----

export async function insertShareLink(
	db: Q,
	row: { id: string; secretHash: Uint8Array; createdBy: string | null; label: string; expiresAt: Date; at: Date }
): Promise<ShareLinkRow> {
	return db
		.insertInto('share_links')
		.values({
			id: row.id,
			secret_hash: row.secretHash,
			created_by: row.createdBy,
			label: row.label,
			expires_at: row.expiresAt,
			created_at: row.at
		})
		.returningAll()
		.executeTakeFirstOrThrow();
}

export function findShareLink(db: Q, id: string): Promise<ShareLinkRow | undefined> {
	return db.selectFrom('share_links').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listShareLinks(db: Q, opts: { limit: number }) {
	return db
		.selectFrom('share_links as l')
		.leftJoin('users as u', 'u.id', 'l.created_by')
		.select(['l.id', 'l.label', 'l.expires_at', 'l.revoked_at', 'l.created_at', 'l.created_by', 'u.display_name as created_by_name'])
		.orderBy('l.created_at', 'desc')
		.limit(opts.limit)
		.execute();
}

export async function revokeShareLink(db: Q, opts: { id: string; at: Date }): Promise<boolean> {
	const r = await db
		.updateTable('share_links')
		.set({ revoked_at: opts.at })
		.where('id', '=', opts.id)
		.where('revoked_at', 'is', null)
		.executeTakeFirst();
	return Number(r.numUpdatedRows) > 0;
}
