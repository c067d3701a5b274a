import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit after it has shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
	// The in-app notification centre. `seq` orders a user's notifications and is the SSE event id,
	// so a reconnecting stream resumes with "everything after seq N" (Last-Event-ID).
	// incident_id carries no foreign key: notifications outlive nothing they point at, and the
	// incidents table belongs to a later migration of its own.
	await db.schema
		.createTable('notifications')
		.addColumn('seq', 'bigserial', (c) => c.primaryKey())
		.addColumn('id', 'text', (c) => c.notNull().unique())
		.addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
		.addColumn('event', 'text', (c) => c.notNull())
		.addColumn('incident_id', 'text')
		.addColumn('title_zh', 'text', (c) => c.notNull())
		.addColumn('title_en', 'text', (c) => c.notNull())
		.addColumn('body_zh', 'text', (c) => c.notNull())
		.addColumn('body_en', 'text', (c) => c.notNull())
		.addColumn('link', 'text')
		// Same key for the same user twice = one notification (jobs may re-run).
		.addColumn('dedupe_key', 'text')
		.addColumn('read_at', 'timestamptz')
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.execute();
	await sql`create unique index notifications_user_dedupe on notifications (user_id, dedupe_key) where dedupe_key is not null`.execute(db);
	await sql`create index notifications_user_seq on notifications (user_id, seq desc)`.execute(db);
	await sql`create index notifications_user_unread on notifications (user_id) where read_at is null`.execute(db);

	await db.schema
		.createTable('notification_channels')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('webhook','email','wecom','dingtalk','feishu','slack','teams')`))
		.addColumn('name', 'text', (c) => c.notNull())
		// Kind-specific settings including secrets (URL tokens, signing keys, SMTP password).
		// Only the service reads it; pages get a masked copy.
		.addColumn('config', 'jsonb', (c) => c.notNull())
		// Event types this channel receives; '*' means all.
		.addColumn('events', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
		.addColumn('locale', 'text', (c) =>
			c
				.notNull()
				.defaultTo('zh-CN')
				.check(sql`locale in ('zh-CN','en')`)
		)
		.addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
		.addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.execute();

	// The outbound queue and its log in one table: a row is a message for one channel, worked on
	// by the delivery worker until it is sent or has used up its attempts.
	await db.schema
		.createTable('notification_deliveries')
		.addColumn('seq', 'bigserial', (c) => c.primaryKey())
		.addColumn('id', 'text', (c) => c.notNull().unique())
		.addColumn('channel_id', 'text', (c) => c.notNull().references('notification_channels.id').onDelete('cascade'))
		.addColumn('event', 'text', (c) => c.notNull())
		.addColumn('incident_id', 'text')
		// The message in neutral form (already in the channel's language, already redacted for
		// restricted incidents); the wire format and signatures are made at each attempt.
		.addColumn('payload', 'jsonb', (c) => c.notNull())
		.addColumn('dedupe_key', 'text', (c) => c.notNull())
		.addColumn('status', 'text', (c) =>
			c
				.notNull()
				.defaultTo('pending')
				.check(sql`status in ('pending','sent','failed')`)
		)
		.addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
		.addColumn('max_attempts', 'integer', (c) => c.notNull())
		.addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
		// A worker's claim on the row; a crashed worker's claim simply runs out.
		.addColumn('locked_until', 'timestamptz')
		.addColumn('last_attempt_at', 'timestamptz')
		.addColumn('last_status_code', 'integer')
		.addColumn('last_response', 'text')
		.addColumn('last_error', 'text')
		.addColumn('sent_at', 'timestamptz')
		.addColumn('created_at', 'timestamptz', (c) => c.notNull())
		.execute();
	await db.schema
		.createIndex('notification_deliveries_channel_dedupe')
		.on('notification_deliveries')
		.columns(['channel_id', 'dedupe_key'])
		.unique()
		.execute();
	await sql`create index notification_deliveries_due on notification_deliveries (next_attempt_at) where status = 'pending'`.execute(db);
	await sql`create index notification_deliveries_channel_seq on notification_deliveries (channel_id, seq desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('notification_deliveries').execute();
	await db.schema.dropTable('notification_channels').execute();
	await db.schema.dropTable('notifications').execute();
}
