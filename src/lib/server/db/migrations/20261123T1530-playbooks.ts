import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit after it has shipped; add a new migration instead.
//
// The playbook library (issue 4). Files in playbooks/ and admin uploads both end up here as
// versions, so an incident can name exactly the text it ran. `incident_playbooks.incident_id` and
// `playbook_deviations.incident_id` are plain text without a foreign key: the incidents table was
// written at the same time by the incidents feature, and a later migration adds the constraint once
// both have shipped (until then the incident id comes from the incidents service, never a form).
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('playbooks')
		// The playbook's own id from its file (kebab-case), so links and incidents survive re-imports.
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('file','import')`))
		// For file playbooks: the path the loader read it from, relative to the working directory.
		.addColumn('source_path', 'text')
		// Set right after the first version is inserted (the two rows reference each other).
		.addColumn('current_version_id', 'text')
		.addColumn('category', 'text', (c) => c.notNull())
		.addColumn('restricted', 'boolean', (c) => c.notNull())
		.addColumn('title_zh', 'text', (c) => c.notNull())
		.addColumn('title_en', 'text', (c) => c.notNull())
		.addColumn('summary_zh', 'text', (c) => c.notNull())
		.addColumn('summary_en', 'text', (c) => c.notNull())
		.addColumn('services', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
		.addColumn('tags', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
		// A file playbook whose file is gone: kept (past incidents link to it) but out of the library.
		.addColumn('withdrawn_at', 'timestamptz')
		.addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.execute();

	await db.schema
		.createTable('playbook_versions')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('playbook_id', 'text', (c) => c.notNull().references('playbooks.id').onDelete('cascade'))
		// 1, 2, 3… per playbook, in the order the versions were stored.
		.addColumn('seq', 'integer', (c) => c.notNull())
		// The `version` the author wrote in the file (the label people quote).
		.addColumn('version', 'integer', (c) => c.notNull())
		// sha256 of the source text: the same text twice is one version.
		.addColumn('content_hash', 'text', (c) => c.notNull())
		.addColumn('source_text', 'text', (c) => c.notNull())
		.addColumn('parsed', 'jsonb', (c) => c.notNull())
		// The file path or the uploaded file's name.
		.addColumn('source_path', 'text')
		.addColumn('imported_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.addUniqueConstraint('playbook_versions_hash', ['playbook_id', 'content_hash'])
		.addUniqueConstraint('playbook_versions_seq', ['playbook_id', 'seq'])
		.execute();

	await db.schema
		.alterTable('playbooks')
		.addForeignKeyConstraint('playbooks_current_version', ['current_version_id'], 'playbook_versions', ['id'])
		.execute();

	await db.schema
		.createTable('incident_playbooks')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('incident_id', 'text', (c) => c.notNull())
		.addColumn('playbook_id', 'text', (c) => c.notNull().references('playbooks.id'))
		.addColumn('version_id', 'text', (c) => c.notNull().references('playbook_versions.id'))
		// The parsed playbook as it was when loaded: the incident's copy, never re-read from the library.
		.addColumn('snapshot', 'jsonb', (c) => c.notNull())
		.addColumn('loaded_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('loaded_at', 'timestamptz', (c) => c.notNull())
		.addUniqueConstraint('incident_playbooks_once', ['incident_id', 'playbook_id'])
		.execute();

	await db.schema
		.createTable('playbook_deviations')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('incident_id', 'text', (c) => c.notNull())
		.addColumn('playbook_id', 'text', (c) => c.notNull())
		.addColumn('step_id', 'text', (c) => c.notNull())
		.addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('skipped','late')`))
		.addColumn('reason', 'text', (c) => c.notNull())
		// `by`/`at` are SQL keywords; these names need no quoting in hand-written SQL.
		.addColumn('recorded_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
		.execute();
	// The review lists an incident's deviations.
	await db.schema.createIndex('playbook_deviations_incident').on('playbook_deviations').columns(['incident_id', 'recorded_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('playbook_deviations').execute();
	await db.schema.dropTable('incident_playbooks').execute();
	await db.schema.alterTable('playbooks').dropConstraint('playbooks_current_version').execute();
	await db.schema.dropTable('playbook_versions').execute();
	await db.schema.dropTable('playbooks').execute();
}
