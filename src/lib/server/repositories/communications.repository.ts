/**
 * Reports to head office and status updates (table `communications`), their content revisions,
 * workflow events, head office's acknowledgements and update requests. SQL only.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { CommunicationEventRow, CommunicationRow, CommunicationTable, Database, UpdateRequestRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export type CommunicationKind = CommunicationTable['kind'];
export type CommunicationState = CommunicationTable['state'];

export interface NewCommunication {
	id: string;
	incident_id: string;
	kind: CommunicationKind;
	report_kind: CommunicationTable['report_kind'];
	sequence: number;
	content: unknown;
	drafted_by: string | null;
	at: Date;
}

export function insert(db: Q, row: NewCommunication): Promise<CommunicationRow> {
	return db
		.insertInto('communications')
		.values({
			id: row.id,
			incident_id: row.incident_id,
			kind: row.kind,
			report_kind: row.report_kind,
			sequence: row.sequence,
			state: 'draft',
			content: JSON.stringify(row.content),
			drafted_by: row.drafted_by,
			created_at: row.at,
			updated_at: row.at
		})
		.returningAll()
		.executeTakeFirstOrThrow();
}

export type CommunicationPatch = Partial<
	Pick<
		CommunicationRow,
		| 'state'
		| 'submitted_by'
		| 'submitted_at'
		| 'approved_by'
		| 'approved_at'
		| 'override_reason'
		| 'returned_by'
		| 'returned_at'
		| 'return_comment'
		| 'content_hash'
		| 'sent_at'
		| 'updated_at'
	>
> & { content?: unknown; version?: number };

/** Updates when the row is still at `expectedVersion` (optimistic concurrency); undefined otherwise. */
export function update(
	db: Q,
	opts: { id: string; patch: CommunicationPatch; expectedVersion?: number }
): Promise<CommunicationRow | undefined> {
	const { content, ...rest } = opts.patch;
	let q = db
		.updateTable('communications')
		.set({ ...rest, ...(content !== undefined ? { content: JSON.stringify(content) } : {}) })
		.where('id', '=', opts.id);
	if (opts.expectedVersion !== undefined) q = q.where('version', '=', opts.expectedVersion);
	return q.returningAll().executeTakeFirst();
}

export function findById(db: Q, id: string): Promise<CommunicationRow | undefined> {
	return db.selectFrom('communications').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findByIdForUpdate(trx: Transaction<Database>, id: string): Promise<CommunicationRow | undefined> {
	return trx.selectFrom('communications').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** An incident's communications, oldest first. */
export function listByIncident(db: Q, opts: { incidentId: string; kind?: CommunicationKind }): Promise<CommunicationRow[]> {
	let q = db.selectFrom('communications').selectAll().where('incident_id', '=', opts.incidentId);
	if (opts.kind) q = q.where('kind', '=', opts.kind);
	return q.orderBy('created_at').orderBy('id').execute();
}

/** The one not-yet-sent communication of a kind (the partial unique index allows one). */
export function findOpen(db: Q, opts: { incidentId: string; kind: CommunicationKind }): Promise<CommunicationRow | undefined> {
	return db
		.selectFrom('communications')
		.selectAll()
		.where('incident_id', '=', opts.incidentId)
		.where('kind', '=', opts.kind)
		.where('state', 'in', ['draft', 'submitted', 'returned', 'approved'])
		.executeTakeFirst();
}

export async function maxProgressSequence(db: Q, incidentId: string): Promise<number> {
	const row = await db
		.selectFrom('communications')
		.select(sql<number>`coalesce(max(sequence), 0)::int`.as('max'))
		.where('incident_id', '=', incidentId)
		.where('kind', '=', 'head_office_report')
		.where('report_kind', '=', 'progress')
		.executeTakeFirstOrThrow();
	return Number(row.max);
}

/** Sent head-office reports, newest first (the inbox), optionally of some incidents only. */
export function listSentReports(db: Q, opts: { limit: number; incidentIds?: readonly string[] }): Promise<CommunicationRow[]> {
	let q = db.selectFrom('communications').selectAll().where('kind', '=', 'head_office_report').where('state', '=', 'sent');
	if (opts.incidentIds) {
		if (opts.incidentIds.length === 0) return Promise.resolve([]);
		q = q.where('incident_id', 'in', [...opts.incidentIds]);
	}
	return q.orderBy('sent_at', 'desc').limit(opts.limit).execute();
}

/** Sent communications of these incidents (for the clocks), oldest first. */
export function listSent(db: Q, opts: { incidentIds: readonly string[]; kind: CommunicationKind }): Promise<CommunicationRow[]> {
	if (opts.incidentIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('communications')
		.selectAll()
		.where('incident_id', 'in', [...opts.incidentIds])
		.where('kind', '=', opts.kind)
		.where('state', '=', 'sent')
		.orderBy('sent_at')
		.execute();
}

// ---- content revisions ----

export async function insertVersion(
	db: Q,
	row: { communicationId: string; version: number; content: unknown; editedBy: string | null; at: Date }
): Promise<void> {
	await db
		.insertInto('communication_versions')
		.values({
			communication_id: row.communicationId,
			version: row.version,
			content: JSON.stringify(row.content),
			edited_by: row.editedBy,
			edited_at: row.at
		})
		.execute();
}

export function listVersions(db: Q, communicationId: string) {
	return db.selectFrom('communication_versions').selectAll().where('communication_id', '=', communicationId).orderBy('version').execute();
}

// ---- workflow events ----

export async function insertEvent(db: Q, row: Omit<CommunicationEventRow, 'at' | 'seq'> & { at: Date }): Promise<void> {
	await db.insertInto('communication_events').values(row).execute();
}

export function listEvents(db: Q, communicationIds: readonly string[]): Promise<CommunicationEventRow[]> {
	if (communicationIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('communication_events')
		.selectAll()
		.where('communication_id', 'in', [...communicationIds])
		.orderBy('seq')
		.execute();
}

// ---- head office acknowledgements ----

/** Records an acknowledgement; false when this user had already acknowledged. */
export async function insertAck(db: Q, row: { communicationId: string; userId: string; at: Date }): Promise<boolean> {
	const r = await db
		.insertInto('head_office_acks')
		.values({ communication_id: row.communicationId, user_id: row.userId, acked_at: row.at })
		.onConflict((oc) => oc.columns(['communication_id', 'user_id']).doNothing())
		.executeTakeFirst();
	return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export function listAcks(db: Q, communicationIds: readonly string[]) {
	if (communicationIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('head_office_acks')
		.innerJoin('users', 'users.id', 'head_office_acks.user_id')
		.select(['head_office_acks.communication_id', 'head_office_acks.user_id', 'head_office_acks.acked_at', 'users.display_name'])
		.where('head_office_acks.communication_id', 'in', [...communicationIds])
		.orderBy('head_office_acks.acked_at')
		.execute();
}

// ---- update requests ----

export async function insertRequest(db: Q, row: Omit<UpdateRequestRow, 'answered_at' | 'answered_by_communication'>): Promise<void> {
	await db.insertInto('update_requests').values(row).execute();
}

export function listRequests(db: Q, incidentIds: readonly string[]) {
	if (incidentIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('update_requests')
		.leftJoin('users', 'users.id', 'update_requests.requested_by')
		.selectAll('update_requests')
		.select('users.display_name as requested_by_name')
		.where('update_requests.incident_id', 'in', [...incidentIds])
		.orderBy('update_requests.requested_at')
		.execute();
}

/** Marks the incident's open requests answered by a communication that went out. */
export async function answerOpenRequests(db: Q, opts: { incidentId: string; communicationId: string; at: Date }): Promise<number> {
	const r = await db
		.updateTable('update_requests')
		.set({ answered_at: opts.at, answered_by_communication: opts.communicationId })
		.where('incident_id', '=', opts.incidentId)
		.where('answered_at', 'is', null)
		.executeTakeFirst();
	return Number(r.numUpdatedRows);
}

/** The last approved status update of each incident (approved or sent). */
export function lastApprovedStatusUpdates(db: Q, incidentIds: readonly string[]): Promise<CommunicationRow[]> {
	if (incidentIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('communications')
		.selectAll()
		.distinctOn('incident_id')
		.where('incident_id', 'in', [...incidentIds])
		.where('kind', '=', 'status_update')
		.where('approved_at', 'is not', null)
		.orderBy('incident_id')
		.orderBy('approved_at', 'desc')
		.execute();
}
