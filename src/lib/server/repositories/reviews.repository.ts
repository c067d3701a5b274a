/**
 * SQL for the post-incident review: the review row, its published versions, and the reads the draft
 * needs that no other repository offers (every member who ever took part, playbook runs and
 * deviations). SQL only; rules live in review.service.ts.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, ReviewRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export type ReviewPatch = Partial<
	Pick<
		ReviewRow,
		| 'state'
		| 'version'
		| 'facts_generated_at'
		| 'content_hash'
		| 'submitted_by'
		| 'submitted_at'
		| 'signed_off_by'
		| 'signed_off_at'
		| 'waiver_reason'
		| 'waived_by'
		| 'waived_at'
		| 'updated_at'
	>
> & { facts?: string; content?: string | null };

export function findByIncident(db: Q, incidentId: string): Promise<ReviewRow | undefined> {
	return db.selectFrom('reviews').selectAll().where('incident_id', '=', incidentId).executeTakeFirst();
}

export function findByIncidentForUpdate(db: Transaction<Database>, incidentId: string): Promise<ReviewRow | undefined> {
	return db.selectFrom('reviews').selectAll().where('incident_id', '=', incidentId).forUpdate().executeTakeFirst();
}

/** Inserts the review unless the incident has one; returns the incident's review either way. */
export async function insertIfAbsent(
	db: Q,
	row: { id: string; incident_id: string; facts: string; facts_generated_at: Date; created_at: Date }
): Promise<ReviewRow> {
	await db
		.insertInto('reviews')
		.values({ ...row, state: 'draft', updated_at: row.created_at })
		.onConflict((oc) => oc.column('incident_id').doNothing())
		.execute();
	return db.selectFrom('reviews').selectAll().where('incident_id', '=', row.incident_id).executeTakeFirstOrThrow();
}

/** Updates the review; with `expectedRowVersion`, only if nobody changed it since (undefined otherwise). */
export function update(db: Q, opts: { id: string; patch: ReviewPatch; expectedRowVersion?: number }): Promise<ReviewRow | undefined> {
	let q = db
		.updateTable('reviews')
		.set({ ...opts.patch, row_version: sql<number>`row_version + 1` })
		.where('id', '=', opts.id);
	if (opts.expectedRowVersion !== undefined) q = q.where('row_version', '=', opts.expectedRowVersion);
	return q.returningAll().executeTakeFirst();
}

export function insertVersion(
	db: Q,
	row: { review_id: string; version: number; content: string; content_hash: string; published_by: string | null; published_at: Date }
): Promise<void> {
	return db
		.insertInto('review_versions')
		.values(row)
		.execute()
		.then(() => undefined);
}

export function listVersions(db: Q, reviewId: string) {
	return db
		.selectFrom('review_versions as v')
		.leftJoin('users as u', 'u.id', 'v.published_by')
		.select(['v.version', 'v.content_hash', 'v.published_by', 'v.published_at', 'u.display_name as published_by_name'])
		.where('v.review_id', '=', reviewId)
		.orderBy('v.version', 'desc')
		.execute();
}

export function findVersion(db: Q, opts: { reviewId: string; version: number }) {
	return db
		.selectFrom('review_versions as v')
		.leftJoin('users as u', 'u.id', 'v.published_by')
		.select(['v.version', 'v.content', 'v.content_hash', 'v.published_by', 'v.published_at', 'u.display_name as published_by_name'])
		.where('v.review_id', '=', opts.reviewId)
		.where('v.version', '=', opts.version)
		.executeTakeFirst();
}

/** Incidents that are resolved or closed and have no review yet (the follow-up job starts them). */
export function resolvedWithoutReview(db: Q, opts: { limit: number }) {
	return db
		.selectFrom('incidents as i')
		.leftJoin('reviews as r', 'r.incident_id', 'i.id')
		.select(['i.id'])
		.where('i.status', 'in', ['resolved', 'closed'])
		.where('i.review_waived', '=', false)
		.where('r.id', 'is', null)
		.orderBy('i.resolved_at')
		.limit(opts.limit)
		.execute();
}

/** Everyone who took part, present or not (a member removed mid-incident still took part). */
export function allMembers(db: Q, incidentId: string) {
	return db
		.selectFrom('incident_members as m')
		.innerJoin('users as u', 'u.id', 'm.user_id')
		.select(['m.user_id', 'm.role', 'm.added_at', 'm.removed_at', 'm.paged_at', 'm.acked_at', 'u.display_name', 'u.org_unit_id'])
		.where('m.incident_id', '=', incidentId)
		.orderBy('m.added_at')
		.execute();
}

export function playbookRuns(db: Q, incidentId: string) {
	return db
		.selectFrom('incident_playbooks')
		.select(['id', 'playbook_id', 'snapshot', 'loaded_at'])
		.where('incident_id', '=', incidentId)
		.orderBy('loaded_at')
		.execute();
}

export function deviations(db: Q, incidentId: string) {
	return db
		.selectFrom('playbook_deviations as d')
		.leftJoin('users as u', 'u.id', 'd.recorded_by')
		.select(['d.playbook_id', 'd.step_id', 'd.kind', 'd.reason', 'd.recorded_at', 'u.display_name as recorded_by_name'])
		.where('d.incident_id', '=', incidentId)
		.orderBy('d.recorded_at')
		.execute();
}
