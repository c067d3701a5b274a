import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit after it has shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
	// One row per calendar day (in the organisation's time zone) holding the last number handed out.
	// `insert … on conflict do update … returning seq` is a single atomic statement, so two processes
	// declaring at the same moment get different numbers without a table lock or a retry loop.
	await db.schema
		.createTable('incident_counters')
		.addColumn('day', 'text', (c) => c.primaryKey().check(sql`day ~ '^[0-9]{8}$'`))
		.addColumn('seq', 'integer', (c) => c.notNull().check(sql`seq > 0`))
		.execute();

	await db.schema
		.createTable('incidents')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('number', 'text', (c) => c.notNull().unique())
		.addColumn('title', 'text', (c) => c.notNull())
		.addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
		.addColumn('impact', 'text', (c) => c.notNull().check(sql`impact in ('extensive','significant','moderate','minor')`))
		.addColumn('urgency', 'text', (c) => c.notNull().check(sql`urgency in ('critical','high','medium','low')`))
		.addColumn('priority', 'text', (c) => c.notNull().check(sql`priority in ('P1','P2','P3','P4','P5')`))
		.addColumn('status', 'text', (c) =>
			c.notNull().check(sql`status in ('proposed','rejected','investigating','identified','mitigated','resolved','closed')`)
		)
		.addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('monitoring','phone','web','api')`))
		.addColumn('drill', 'boolean', (c) => c.notNull().defaultTo(false))
		.addColumn('restricted', 'boolean', (c) => c.notNull().defaultTo(false))
		.addColumn('detected_at', 'timestamptz', (c) => c.notNull())
		.addColumn('proposed_at', 'timestamptz')
		.addColumn('declared_at', 'timestamptz')
		.addColumn('first_acked_at', 'timestamptz')
		.addColumn('mitigated_at', 'timestamptz')
		.addColumn('resolved_at', 'timestamptz')
		.addColumn('closed_at', 'timestamptz')
		.addColumn('reopened_at', 'timestamptz')
		.addColumn('proposed_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('declared_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('rejected_reason', 'text')
		// Why it was closed without a published review (the manager's waiver), until the review exists.
		.addColumn('close_reason', 'text')
		.addColumn('review_waived', 'boolean', (c) => c.notNull().defaultTo(false))
		// The monitoring system's alert key: a repeating alert lands on the same open incident.
		.addColumn('dedupe_key', 'text')
		// How often the deduplicated alert fired again, and when last (shown in the war room).
		.addColumn('repeat_count', 'integer', (c) => c.notNull().defaultTo(0))
		.addColumn('last_repeated_at', 'timestamptz')
		.addColumn('created_at', 'timestamptz', (c) => c.notNull())
		.addColumn('updated_at', 'timestamptz', (c) => c.notNull())
		// Optimistic concurrency: every change bumps it; a writer that read an older version gets 409.
		.addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
		.execute();
	// "Open" = not yet resolved: a repeat of an alert after the service was restored is a new
	// occurrence (or the team reopens the old one); before that it is the same incident.
	await sql`create unique index incidents_open_dedupe_key on incidents (dedupe_key)
		where dedupe_key is not null and status in ('proposed','investigating','identified','mitigated')`.execute(db);
	await sql`create index incidents_status on incidents (status)`.execute(db);
	await sql`create index incidents_created_at on incidents (created_at desc)`.execute(db);

	await db.schema
		.createTable('incident_services')
		.addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
		.addColumn('service_id', 'text', (c) => c.notNull().references('services.id').onDelete('restrict'))
		.addPrimaryKeyConstraint('incident_services_pk', ['incident_id', 'service_id'])
		.execute();
	await sql`create index incident_services_service on incident_services (service_id)`.execute(db);

	// The response group. A removed member keeps the row (removed_at set), so "who was on it when" is
	// answerable from the table as well as from the audit log; a re-added person gets a new row.
	await db.schema
		.createTable('incident_members')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
		.addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
		.addColumn('role', 'text', (c) =>
			c
				.notNull()
				.check(
					sql`role in ('incident_manager','deputy','communications_lead','scribe','technical_lead','vendor_liaison','service_desk','responder','observer')`
				)
		)
		.addColumn('added_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('added_at', 'timestamptz', (c) => c.notNull())
		// First page (time-to-acknowledge per person), the latest re-page and how many were sent.
		.addColumn('paged_at', 'timestamptz')
		.addColumn('last_paged_at', 'timestamptz')
		.addColumn('page_count', 'integer', (c) => c.notNull().defaultTo(0))
		.addColumn('acked_at', 'timestamptz')
		.addColumn('removed_at', 'timestamptz')
		.addColumn('removed_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.execute();
	await sql`create unique index incident_members_active on incident_members (incident_id, user_id) where removed_at is null`.execute(db);
	// Exactly one incident manager at a time: the service hands over in one transaction (demote, then
	// promote); this index makes a second concurrent hand-over fail instead of leaving two.
	await sql`create unique index incident_members_one_manager on incident_members (incident_id)
		where role = 'incident_manager' and removed_at is null`.execute(db);
	await sql`create index incident_members_user on incident_members (user_id) where removed_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('incident_members').execute();
	await db.schema.dropTable('incident_services').execute();
	await db.schema.dropTable('incidents').execute();
	await db.schema.dropTable('incident_counters').execute();
}
