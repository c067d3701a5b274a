/**
 * SQL for the playbook library, playbook runs in incidents and deviations. No rules here: the
 * playbook service decides who may do what and which version is current.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, IncidentPlaybookRow, PlaybookDeviationRow, PlaybookRow, PlaybookVersionRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export type NewPlaybook = Omit<PlaybookRow, 'updated_at' | 'withdrawn_at' | 'current_version_id'> & {
	updated_at: Date;
};
export type PlaybookPatch = Partial<Omit<PlaybookRow, 'id'>>;
export type NewVersion = Omit<PlaybookVersionRow, 'created_at' | 'parsed'> & { parsed: unknown; created_at: Date };

export interface ListFilter {
	/** Matched case-insensitively against id, titles, summaries, services and tags in both languages. */
	query?: string;
	category?: string;
	service?: string;
	/** False: leave restricted playbooks out. */
	includeRestricted: boolean;
	includeWithdrawn?: boolean;
}

/** `%`, `_` and `\` typed by a person are literal characters, not wildcards. */
function likePattern(query: string): string {
	return `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function list(db: Q, filter: ListFilter): Promise<PlaybookRow[]> {
	let q = db.selectFrom('playbooks').selectAll();
	if (!filter.includeRestricted) q = q.where('restricted', '=', false);
	if (!filter.includeWithdrawn) q = q.where('withdrawn_at', 'is', null);
	if (filter.category) q = q.where('category', '=', filter.category);
	if (filter.service) q = q.where(sql<boolean>`${filter.service} = any(services)`);
	const query = filter.query?.trim();
	if (query) {
		const p = likePattern(query);
		q = q.where((eb) =>
			eb.or([
				eb('id', 'ilike', p),
				eb('title_zh', 'ilike', p),
				eb('title_en', 'ilike', p),
				eb('summary_zh', 'ilike', p),
				eb('summary_en', 'ilike', p),
				eb(sql<string>`array_to_string(services, ' ')`, 'ilike', p),
				eb(sql<string>`array_to_string(tags, ' ')`, 'ilike', p)
			])
		);
	}
	return q.orderBy('category').orderBy('id').execute();
}

export function listAll(db: Q): Promise<PlaybookRow[]> {
	return db.selectFrom('playbooks').selectAll().orderBy('id').execute();
}

export function findById(db: Q, id: string): Promise<PlaybookRow | undefined> {
	return db.selectFrom('playbooks').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Locks the playbook row for the rest of the transaction (two imports of one id serialise here). */
export function findByIdForUpdate(db: Transaction<Database>, id: string): Promise<PlaybookRow | undefined> {
	return db.selectFrom('playbooks').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function insert(db: Q, row: NewPlaybook): Promise<void> {
	await db.insertInto('playbooks').values(row).execute();
}

export async function update(db: Q, id: string, patch: PlaybookPatch): Promise<void> {
	await db.updateTable('playbooks').set(patch).where('id', '=', id).execute();
}

/** File playbooks whose file is no longer in the directory (and are not yet marked withdrawn). */
export async function withdrawFilePlaybooksExcept(db: Q, keepPaths: string[], at: Date): Promise<string[]> {
	let q = db.updateTable('playbooks').set({ withdrawn_at: at }).where('source', '=', 'file').where('withdrawn_at', 'is', null);
	if (keepPaths.length) q = q.where((eb) => eb.or([eb('source_path', 'is', null), eb('source_path', 'not in', keepPaths)]));
	const rows = await q.returning('id').execute();
	return rows.map((r) => r.id);
}

export function versions(db: Q, playbookId: string): Promise<PlaybookVersionRow[]> {
	return db.selectFrom('playbook_versions').selectAll().where('playbook_id', '=', playbookId).orderBy('seq', 'desc').execute();
}

export function findVersion(db: Q, id: string): Promise<PlaybookVersionRow | undefined> {
	return db.selectFrom('playbook_versions').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findVersionByHash(db: Q, playbookId: string, contentHash: string): Promise<PlaybookVersionRow | undefined> {
	return db
		.selectFrom('playbook_versions')
		.selectAll()
		.where('playbook_id', '=', playbookId)
		.where('content_hash', '=', contentHash)
		.executeTakeFirst();
}

/** The highest stored revision number and declared version of a playbook (0 when none). */
export async function versionHighs(db: Q, playbookId: string): Promise<{ seq: number; version: number }> {
	const row = await db
		.selectFrom('playbook_versions')
		.select((eb) => [eb.fn.max('seq').as('seq'), eb.fn.max('version').as('version')])
		.where('playbook_id', '=', playbookId)
		.executeTakeFirst();
	return { seq: Number(row?.seq ?? 0), version: Number(row?.version ?? 0) };
}

export async function insertVersion(db: Q, row: NewVersion): Promise<void> {
	await db
		.insertInto('playbook_versions')
		.values({ ...row, parsed: JSON.stringify(row.parsed) })
		.execute();
}

export function findIncidentPlaybook(db: Q, incidentId: string, playbookId: string): Promise<IncidentPlaybookRow | undefined> {
	return db
		.selectFrom('incident_playbooks')
		.selectAll()
		.where('incident_id', '=', incidentId)
		.where('playbook_id', '=', playbookId)
		.executeTakeFirst();
}

export function incidentPlaybooks(db: Q, incidentId: string): Promise<IncidentPlaybookRow[]> {
	return db.selectFrom('incident_playbooks').selectAll().where('incident_id', '=', incidentId).orderBy('loaded_at').orderBy('id').execute();
}

export async function insertIncidentPlaybook(db: Q, row: Omit<IncidentPlaybookRow, 'snapshot'> & { snapshot: unknown }): Promise<void> {
	await db
		.insertInto('incident_playbooks')
		.values({ ...row, snapshot: JSON.stringify(row.snapshot) })
		.execute();
}

export async function insertDeviation(db: Q, row: PlaybookDeviationRow): Promise<void> {
	await db.insertInto('playbook_deviations').values(row).execute();
}

export function deviations(db: Q, incidentId: string): Promise<PlaybookDeviationRow[]> {
	return db
		.selectFrom('playbook_deviations')
		.selectAll()
		.where('incident_id', '=', incidentId)
		.orderBy('recorded_at')
		.orderBy('id')
		.execute();
}
