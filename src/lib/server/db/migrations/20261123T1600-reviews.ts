import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit after it has shipped; add a new migration instead.
//
// The closure loop (issue 8): the post-incident review and its published versions, action items,
// satisfaction surveys and the monthly service-quality report. The review's narrative lives in the
// incident's shared Y.Doc (`review` map); these tables hold the facts, the workflow and the frozen,
// hashed versions that were signed off.
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('reviews')
		.addColumn('id', 'text', (c) => c.primaryKey())
		// One review per incident: a reopened and re-resolved incident keeps its review (new versions).
		.addColumn('incident_id', 'text', (c) => c.notNull().unique().references('incidents.id').onDelete('cascade'))
		.addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('draft','in_review','published')`))
		// The number of the latest published version; 0 until the first sign-off.
		.addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
		// Facts generated from what the system knows (ReviewFacts), refreshed while not published.
		.addColumn('facts', 'jsonb', (c) => c.notNull())
		.addColumn('facts_generated_at', 'timestamptz', (c) => c.notNull())
		// The latest published content (ReviewContent) and its sha256, also in review_versions.
		.addColumn('content', 'jsonb')
		.addColumn('content_hash', 'text')
		.addColumn('submitted_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('submitted_at', 'timestamptz')
		.addColumn('signed_off_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('signed_off_at', 'timestamptz')
		// A manager may waive the review instead (closing then rests on this reason).
		.addColumn('waiver_reason', 'text')
		.addColumn('waived_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('waived_at', 'timestamptz')
		// Optimistic concurrency for the workflow buttons (two managers clicking at once).
		.addColumn('row_version', 'integer', (c) => c.notNull().defaultTo(1))
		.addColumn('created_at', 'timestamptz', (c) => c.notNull())
		.addColumn('updated_at', 'timestamptz', (c) => c.notNull())
		.execute();

	await db.schema
		.createTable('review_versions')
		.addColumn('review_id', 'text', (c) => c.notNull().references('reviews.id').onDelete('cascade'))
		.addColumn('version', 'integer', (c) => c.notNull())
		.addColumn('content', 'jsonb', (c) => c.notNull())
		.addColumn('content_hash', 'text', (c) => c.notNull())
		.addColumn('published_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('published_at', 'timestamptz', (c) => c.notNull())
		.addPrimaryKeyConstraint('review_versions_pk', ['review_id', 'version'])
		.execute();

	await db.schema
		.createTable('action_items')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
		.addColumn('review_id', 'text', (c) => c.references('reviews.id').onDelete('set null'))
		.addColumn('title', 'text', (c) => c.notNull())
		.addColumn('owner_id', 'text', (c) => c.references('users.id').onDelete('set null'))
		// A calendar date in the organisation's time zone (YYYY-MM-DD): due "on the 30th", not at an instant.
		.addColumn('due_date', 'text', (c) => c.check(sql`due_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'`))
		.addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('corrective','preventive','detective')`))
		// A problem or change record in another system (id or URL).
		.addColumn('link', 'text')
		.addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open','in_progress','done','cancelled')`))
		.addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('created_at', 'timestamptz', (c) => c.notNull())
		.addColumn('updated_at', 'timestamptz', (c) => c.notNull())
		.addColumn('closed_at', 'timestamptz')
		// Reminder bookkeeping for the job: the due date each reminder was sent for (a new due date re-arms it).
		.addColumn('reminded_soon_for', 'text')
		.addColumn('reminded_overdue_for', 'text')
		.addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
		.execute();
	await db.schema.createIndex('action_items_incident').on('action_items').columns(['incident_id']).execute();
	await db.schema.createIndex('action_items_owner_status').on('action_items').columns(['owner_id', 'status']).execute();

	await db.schema
		.createTable('surveys')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
		.addColumn('service_id', 'text', (c) => c.notNull().references('services.id').onDelete('cascade'))
		.addColumn('recipient_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
		// sha256 of the link's secret: the link itself is never stored.
		.addColumn('token_hash', 'text', (c) => c.notNull().unique())
		.addColumn('created_at', 'timestamptz', (c) => c.notNull())
		.addColumn('expires_at', 'timestamptz', (c) => c.notNull())
		.addColumn('used_at', 'timestamptz')
		.addColumn('score', 'integer', (c) => c.check(sql`score between 1 and 5`))
		.addColumn('comment', 'text')
		// Once per owner and service per incident: a reopened and re-resolved incident does not ask twice.
		.addUniqueConstraint('surveys_once', ['incident_id', 'service_id', 'recipient_id'])
		.execute();

	await db.schema
		.createTable('monthly_reports')
		.addColumn('id', 'text', (c) => c.primaryKey())
		// YYYY-MM in the organisation's time zone.
		.addColumn('period', 'text', (c) => c.notNull().check(sql`period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'`))
		// Null = the whole organisation.
		.addColumn('org_unit_id', 'text', (c) => c.references('org_units.id').onDelete('cascade'))
		.addColumn('data', 'jsonb', (c) => c.notNull())
		.addColumn('generated_at', 'timestamptz', (c) => c.notNull())
		.addColumn('generated_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.execute();
	// Unique per period and unit, the whole organisation included: a plain unique constraint would let
	// many NULL units through, so the index is on the unit with NULL folded to ''.
	await sql`create unique index monthly_reports_period_unit on monthly_reports (period, (coalesce(org_unit_id, '')))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('monthly_reports').ifExists().execute();
	await db.schema.dropTable('surveys').ifExists().execute();
	await db.schema.dropTable('action_items').ifExists().execute();
	await db.schema.dropTable('review_versions').ifExists().execute();
	await db.schema.dropTable('reviews').ifExists().execute();
}
