import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit after it has shipped; add a new migration instead.
//
// The executive status board (issue 7): share links for stakeholders without an account. The
// update requests a viewer sends from the board live in `update_requests`, created by the escalation
// migration (20261123T1540), so they are one list with head office's requests.
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('share_links')
		// The public half of the `id.secret` token (auth/tokens.ts); only the secret's SHA-256 is kept.
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('secret_hash', 'bytea', (c) => c.notNull())
		.addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('label', 'text', (c) => c.notNull())
		// Every link expires: a forgotten link must stop working by itself.
		.addColumn('expires_at', 'timestamptz', (c) => c.notNull())
		.addColumn('revoked_at', 'timestamptz')
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.execute();
	await sql`create index share_links_created on share_links (created_at desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('share_links').execute();
}
