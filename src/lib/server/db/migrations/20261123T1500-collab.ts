import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit after it has shipped; add a new migration instead.
//
// The Yjs update log and its snapshots (docs/collab.md). `doc` is the room name (the incident id) and
// is deliberately not a foreign key: the log must accept a write even while the incident row is being
// created in another transaction, and the incidents feature owns deleting a document with its incident.
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('collab_updates')
		.addColumn('id', 'bigserial', (c) => c.primaryKey())
		.addColumn('doc', 'text', (c) => c.notNull())
		.addColumn('update', 'bytea', (c) => c.notNull())
		// Which app process wrote it: a process skips its own NOTIFYs (it already applied the update).
		.addColumn('node_id', 'text', (c) => c.notNull())
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.execute();
	// Loading a room reads one document's rows in id order.
	await db.schema.createIndex('collab_updates_doc_id').on('collab_updates').columns(['doc', 'id']).execute();

	await db.schema
		.createTable('collab_snapshots')
		.addColumn('doc', 'text', (c) => c.primaryKey())
		.addColumn('state', 'bytea', (c) => c.notNull())
		// The highest log id folded into `state` (informational: a compaction deletes exactly the rows it
		// folded, and loading reads the snapshot plus every row that is left).
		.addColumn('upto_id', 'bigint', (c) => c.notNull())
		.addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('collab_snapshots').execute();
	await db.schema.dropTable('collab_updates').execute();
}
