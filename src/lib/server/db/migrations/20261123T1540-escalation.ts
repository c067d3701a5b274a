import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit after it has shipped; add a new migration instead.
//
// Escalation to head office (issue 6) and stakeholder status updates (issue 7): the communications
// with their approval workflow, head office's acknowledgements and requests, the admin-editable
// policy, and the scheduler's own state (leases, sent reminders, recorded breaches).
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('communications')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
		.addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('head_office_report','status_update')`))
		// Reports only: initial / progress / final. Status updates have none.
		.addColumn('report_kind', 'text', (c) => c.check(sql`report_kind is null or report_kind in ('initial','progress','final')`))
		// Progress update 1, 2, …; 0 for initial and final reports and for status updates.
		.addColumn('sequence', 'integer', (c) => c.notNull().defaultTo(0))
		.addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('draft','submitted','returned','approved','sent')`))
		// The report fields (zh-CN and en text) as the editor saved them last; see escalation.service.ts.
		.addColumn('content', 'jsonb', (c) => c.notNull())
		.addColumn('drafted_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('submitted_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('submitted_at', 'timestamptz')
		.addColumn('approved_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('approved_at', 'timestamptz')
		// Set when the approver approved their own draft in an emergency: flagged on every screen.
		.addColumn('override_reason', 'text')
		.addColumn('returned_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('returned_at', 'timestamptz')
		.addColumn('return_comment', 'text')
		// sha256 of the canonical content once approved (frozen); the same hash is in the audit chain.
		.addColumn('content_hash', 'text')
		.addColumn('sent_at', 'timestamptz')
		// Content revision: every saved edit bumps it (optimistic concurrency for the editor, too).
		.addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
		.addColumn('created_at', 'timestamptz', (c) => c.notNull())
		.addColumn('updated_at', 'timestamptz', (c) => c.notNull())
		.execute();
	await sql`create index communications_incident on communications (incident_id, created_at)`.execute(db);
	await sql`create index communications_sent on communications (sent_at desc) where state = 'sent'`.execute(db);
	// One open (not yet sent) communication of each kind per incident: two drafts of the same report
	// would otherwise race to head office.
	await sql`create unique index communications_one_open on communications (incident_id, kind)
		where state in ('draft','submitted','returned','approved')`.execute(db);
	// Progress update numbers are unique per incident (two processes drafting at once cannot both be "2").
	await sql`create unique index communications_progress_seq on communications (incident_id, sequence)
		where kind = 'head_office_report' and report_kind = 'progress'`.execute(db);

	await db.schema
		.createTable('communication_versions')
		.addColumn('communication_id', 'text', (c) => c.notNull().references('communications.id').onDelete('cascade'))
		.addColumn('version', 'integer', (c) => c.notNull())
		.addColumn('content', 'jsonb', (c) => c.notNull())
		.addColumn('edited_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('edited_at', 'timestamptz', (c) => c.notNull())
		.addPrimaryKeyConstraint('communication_versions_pk', ['communication_id', 'version'])
		.execute();

	// The workflow history shown next to a report (who submitted, returned with what comment, approved).
	await db.schema
		.createTable('communication_events')
		.addColumn('id', 'text', (c) => c.primaryKey())
		// Insertion order: several events can share a timestamp (one transaction, or a fixed test clock).
		.addColumn('seq', 'bigserial', (c) => c.notNull())
		.addColumn('communication_id', 'text', (c) => c.notNull().references('communications.id').onDelete('cascade'))
		.addColumn('action', 'text', (c) =>
			c.notNull().check(sql`action in ('drafted','edited','submitted','returned','approved','overridden','sent')`)
		)
		.addColumn('actor_id', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('comment', 'text')
		.addColumn('version', 'integer', (c) => c.notNull())
		.addColumn('at', 'timestamptz', (c) => c.notNull())
		.execute();
	await sql`create index communication_events_by_communication on communication_events (communication_id, seq)`.execute(db);

	await db.schema
		.createTable('head_office_acks')
		.addColumn('communication_id', 'text', (c) => c.notNull().references('communications.id').onDelete('cascade'))
		.addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
		.addColumn('acked_at', 'timestamptz', (c) => c.notNull())
		.addPrimaryKeyConstraint('head_office_acks_pk', ['communication_id', 'user_id'])
		.execute();

	await db.schema
		.createTable('update_requests')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
		// The report it answers to, when asked from the inbox.
		.addColumn('communication_id', 'text', (c) => c.references('communications.id').onDelete('set null'))
		.addColumn('requested_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('update','question')`))
		.addColumn('text', 'text', (c) => c.notNull())
		.addColumn('requested_at', 'timestamptz', (c) => c.notNull())
		// The next sent report or approved status update answers the open requests of its incident.
		.addColumn('answered_at', 'timestamptz')
		.addColumn('answered_by_communication', 'text', (c) => c.references('communications.id').onDelete('set null'))
		.execute();
	await sql`create index update_requests_incident on update_requests (incident_id, requested_at)`.execute(db);

	// A single row (id = 1): the organisation's rules as a partial policy over the built-in defaults.
	await db.schema
		.createTable('escalation_policy')
		.addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
		.addColumn('rules', 'jsonb', (c) => c.notNull())
		.addColumn('updated_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('updated_at', 'timestamptz', (c) => c.notNull())
		.execute();

	// One row per job: who runs it and until when, and the last cron slot taken, so a slot runs once
	// across nodes (see jobs/lease.ts).
	await db.schema
		.createTable('job_leases')
		.addColumn('name', 'text', (c) => c.primaryKey())
		.addColumn('holder', 'text', (c) => c.notNull())
		.addColumn('slot', 'timestamptz', (c) => c.notNull())
		.addColumn('until', 'timestamptz', (c) => c.notNull())
		.execute();

	// `dueReminders` keys (incident:kind:dueAt:stage[:subject]): the primary key is what makes a tick
	// that runs twice, or on two nodes, send once.
	await db.schema
		.createTable('reminders_sent')
		.addColumn('key', 'text', (c) => c.primaryKey())
		.addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
		.addColumn('clock_kind', 'text', (c) => c.notNull())
		.addColumn('stage', 'text', (c) => c.notNull().check(sql`stage in ('warning','breach')`))
		.addColumn('due_at', 'timestamptz', (c) => c.notNull())
		.addColumn('sent_at', 'timestamptz', (c) => c.notNull())
		.execute();
	await sql`create index reminders_sent_incident on reminders_sent (incident_id)`.execute(db);

	// Breaches for the SLA figures. `subject_id` is '' for clocks without a subject, so the unique
	// constraint holds (null would never collide).
	await db.schema
		.createTable('clock_breaches')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
		.addColumn('clock_kind', 'text', (c) => c.notNull())
		.addColumn('subject_id', 'text', (c) => c.notNull().defaultTo(''))
		.addColumn('due_at', 'timestamptz', (c) => c.notNull())
		.addColumn('breached_at', 'timestamptz', (c) => c.notNull())
		.addColumn('met_at', 'timestamptz')
		.addUniqueConstraint('clock_breaches_once', ['incident_id', 'clock_kind', 'subject_id', 'due_at'])
		.execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('clock_breaches').execute();
	await db.schema.dropTable('reminders_sent').execute();
	await db.schema.dropTable('job_leases').execute();
	await db.schema.dropTable('escalation_policy').execute();
	await db.schema.dropTable('update_requests').execute();
	await db.schema.dropTable('head_office_acks').execute();
	await db.schema.dropTable('communication_events').execute();
	await db.schema.dropTable('communication_versions').execute();
	await db.schema.dropTable('communications').execute();
}
