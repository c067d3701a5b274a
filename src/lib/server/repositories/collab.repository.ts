/**
 * The Yjs update log and snapshots (SQL only). Ids are bigint and travel as strings, so they never
 * lose precision in JavaScript numbers.
 */
import { sql, type Kysely, type QueryCreator, type Transaction } from 'kysely';
import type { Database } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

export interface LogRow {
	id: string;
	update: Uint8Array;
}

export interface Snapshot {
	state: Uint8Array;
	uptoId: string;
}

/** A row to append to the log: one document's merged updates, and the process that wrote them. */
export interface NewLogRow {
	doc: string;
	update: Uint8Array;
	nodeId: string;
}

/** The insert of `rows` into the log, returning their new ids (shared by `append` and `appendAndNotify`). */
function insertLog(qc: QueryCreator<Database>, rows: NewLogRow[]) {
	return qc
		.insertInto('collab_updates')
		.values(rows.map((r) => ({ doc: r.doc, update: r.update, node_id: r.nodeId })))
		.returning(['id', 'doc', 'node_id']);
}

const appended = (inserted: { id: string | number | bigint; doc: string }[]) => inserted.map((r) => ({ id: String(r.id), doc: r.doc }));

/** Appends one row per document; returns the new ids in the same order as `rows`. */
export async function append(db: Q, rows: NewLogRow[]): Promise<{ id: string; doc: string }[]> {
	if (rows.length === 0) return [];
	return appended(await insertLog(db, rows).execute());
}

/**
 * A document's snapshot and every log row left, in one statement: a single statement reads one
 * snapshot of the database even under READ COMMITTED, so a concurrent compaction (new snapshot +
 * deleted rows, one transaction) is seen either wholly or not at all — without the four extra round
 * trips of an explicit repeatable-read transaction on every room load.
 */
export async function readDocument(db: Q, doc: string): Promise<{ snapshot: Snapshot | undefined; rows: LogRow[] }> {
	const result = await sql<{ kind: number; id: string | number | bigint; data: Uint8Array }>`
		select 0 as kind, upto_id as id, state as data from collab_snapshots where doc = ${doc}
		union all
		select 1 as kind, id, "update" as data from collab_updates where doc = ${doc}
		order by kind, id`.execute(db);
	let snapshot: Snapshot | undefined;
	const rows: LogRow[] = [];
	for (const r of result.rows) {
		if (Number(r.kind) === 0) snapshot = { state: r.data, uptoId: String(r.id) };
		else rows.push({ id: String(r.id), update: r.data });
	}
	return { snapshot, rows };
}

export async function findSnapshot(db: Q, doc: string): Promise<Snapshot | undefined> {
	const row = await db.selectFrom('collab_snapshots').select(['state', 'upto_id']).where('doc', '=', doc).executeTakeFirst();
	return row ? { state: row.state, uptoId: String(row.upto_id) } : undefined;
}

/**
 * What identifies a document's snapshot as stored now, without reading its bytes: its `upto_id` and the
 * MD5 of its state (a compaction that started from the snapshot a load read checks it is still the one).
 */
export async function snapshotDigest(db: Q, doc: string): Promise<{ uptoId: string; md5: string } | undefined> {
	const row = await db
		.selectFrom('collab_snapshots')
		.select(['upto_id', sql<string>`md5(state)`.as('md5')])
		.where('doc', '=', doc)
		.executeTakeFirst();
	return row ? { uptoId: String(row.upto_id), md5: row.md5 } : undefined;
}

/** Log rows of one document after `afterId` (exclusive), in id order, at most `limit`. */
export async function listAfter(db: Q, doc: string, afterId: string, limit?: number): Promise<LogRow[]> {
	let q = db.selectFrom('collab_updates').select(['id', 'update']).where('doc', '=', doc).where('id', '>', afterId).orderBy('id');
	if (limit !== undefined) q = q.limit(limit);
	const rows = await q.execute();
	return rows.map((r) => ({ id: String(r.id), update: r.update }));
}

export async function listByIds(db: Q, doc: string, ids: string[]): Promise<LogRow[]> {
	if (ids.length === 0) return [];
	const rows = await db
		.selectFrom('collab_updates')
		.select(['id', 'update'])
		.where('doc', '=', doc)
		.where('id', 'in', ids)
		.orderBy('id')
		.execute();
	return rows.map((r) => ({ id: String(r.id), update: r.update }));
}

export async function countAfter(db: Q, doc: string, afterId: string): Promise<number> {
	const row = await db
		.selectFrom('collab_updates')
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.where('doc', '=', doc)
		.where('id', '>', afterId)
		.executeTakeFirstOrThrow();
	return Number(row.n);
}

export async function upsertSnapshot(db: Q, opts: { doc: string; state: Uint8Array; uptoId: string; at: Date }): Promise<void> {
	await db
		.insertInto('collab_snapshots')
		.values({ doc: opts.doc, state: opts.state, upto_id: opts.uptoId, updated_at: opts.at })
		.onConflict((oc) => oc.column('doc').doUpdateSet({ state: opts.state, upto_id: opts.uptoId, updated_at: opts.at }))
		.execute();
}

/** Ids per DELETE statement: each id is one bind parameter, and a statement takes at most 65,535. */
const DELETE_CHUNK = 10_000;

/**
 * Deletes exactly the rows a compaction folded (never "all ids up to N": see room-manager compact), in
 * statements of at most DELETE_CHUNK ids (inside the caller's transaction, so all of them or none).
 * Returns how many existed.
 */
export async function deleteIds(db: Q, doc: string, ids: readonly string[]): Promise<number> {
	let deleted = 0;
	for (let i = 0; i < ids.length; i += DELETE_CHUNK) {
		const chunk = ids.slice(i, i + DELETE_CHUNK);
		const rows = await db.deleteFrom('collab_updates').where('doc', '=', doc).where('id', 'in', chunk).returning('id').execute();
		deleted += rows.length;
	}
	return deleted;
}

/**
 * Serialises compactions of one document across processes for the rest of the transaction (two nodes
 * compacting at once would each delete rows the other's snapshot relies on).
 */
export async function lockDoc(trx: Transaction<Database>, doc: string): Promise<void> {
	await sql`select pg_advisory_xact_lock(hashtext(${'collab:' + doc}))`.execute(trx);
}

/**
 * PostgreSQL: appends one row per document and notifies `channel` of each (`{"doc", "id", "node"}`) in
 * one statement, so one round trip instead of the four of BEGIN, INSERT, NOTIFY, COMMIT. The statement
 * is its own transaction: the rows and their notifications commit together, and the notifications are
 * delivered only then. Returns the new ids as `append` does.
 */
export async function appendAndNotify(db: Q, rows: NewLogRow[], channel: string): Promise<{ id: string; doc: string }[]> {
	if (rows.length === 0) return [];
	const inserted = await db
		.with('ins', (qc) => insertLog(qc, rows))
		.selectFrom('ins')
		.select([
			'ins.id',
			'ins.doc',
			sql<string>`pg_notify(${channel}, json_build_object('doc', ins.doc, 'id', ins.id::text, 'node', ins.node_id)::text)`.as('notified')
		])
		.orderBy('ins.id')
		.execute();
	return appended(inserted);
}
