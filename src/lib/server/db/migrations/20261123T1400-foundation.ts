import { sql, type Kysely } from 'kysely';

// Frozen in time: never edit after it has shipped; add a new migration instead.
export async function up(db: Kysely<any>): Promise<void> {
	await db.schema
		.createTable('org_units')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('parent_id', 'text', (c) => c.references('org_units.id').onDelete('restrict'))
		.addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('head_office','region','team')`))
		.addColumn('code', 'text', (c) => c.notNull().unique())
		.addColumn('name_zh', 'text', (c) => c.notNull())
		.addColumn('name_en', 'text', (c) => c.notNull())
		.addColumn('region', 'text')
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.execute();

	await db.schema
		.createTable('users')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('username', 'text', (c) => c.notNull())
		.addColumn('display_name', 'text', (c) => c.notNull())
		.addColumn('email', 'text')
		.addColumn('phone', 'text')
		.addColumn('locale', 'text', (c) => c.notNull().defaultTo('zh-CN'))
		.addColumn('time_zone', 'text', (c) => c.notNull().defaultTo('Asia/Shanghai'))
		.addColumn('org_unit_id', 'text', (c) => c.references('org_units.id').onDelete('set null'))
		.addColumn('global_role', 'text', (c) => c.notNull().check(sql`global_role in ('admin','manager','responder','viewer')`))
		.addColumn('disabled', 'boolean', (c) => c.notNull().defaultTo(false))
		.addColumn('password_hash', 'text')
		.addColumn('password_changed_at', 'timestamptz')
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.execute();
	await sql`create unique index users_username_lower on users (lower(username))`.execute(db);

	await db.schema
		.createTable('sessions')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('secret_hash', 'bytea', (c) => c.notNull())
		.addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
		.addColumn('created_at', 'timestamptz', (c) => c.notNull())
		.addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
		.addColumn('ip', 'text')
		.addColumn('user_agent', 'text')
		.execute();
	await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

	await db.schema
		.createTable('services')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('code', 'text', (c) => c.notNull().unique())
		.addColumn('name_zh', 'text', (c) => c.notNull())
		.addColumn('name_en', 'text', (c) => c.notNull())
		.addColumn('owner_team_id', 'text', (c) => c.references('org_units.id').onDelete('set null'))
		.addColumn('criticality', 'text', (c) => c.notNull().check(sql`criticality in ('critical','high','medium','low')`))
		.addColumn('regions', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.execute();

	await db.schema
		.createTable('api_tokens')
		.addColumn('id', 'text', (c) => c.primaryKey())
		.addColumn('name', 'text', (c) => c.notNull())
		.addColumn('secret_hash', 'bytea', (c) => c.notNull())
		.addColumn('scopes', sql`text[]`, (c) => c.notNull())
		.addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
		.addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
		.addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
		.addColumn('last_used_at', 'timestamptz')
		.addColumn('revoked_at', 'timestamptz')
		.execute();

	await db.schema
		.createTable('audit_events')
		.addColumn('seq', 'bigserial', (c) => c.primaryKey())
		.addColumn('id', 'text', (c) => c.notNull().unique())
		.addColumn('at', 'timestamptz', (c) => c.notNull())
		.addColumn('actor_id', 'text')
		.addColumn('action', 'text', (c) => c.notNull())
		.addColumn('subject_type', 'text', (c) => c.notNull())
		.addColumn('subject_id', 'text')
		.addColumn('before', 'jsonb')
		.addColumn('after', 'jsonb')
		.addColumn('prev_hash', 'text', (c) => c.notNull())
		.addColumn('hash', 'text', (c) => c.notNull())
		.execute();
	await db.schema.createIndex('audit_events_subject').on('audit_events').columns(['subject_type', 'subject_id']).execute();
	// Append-only: the database itself refuses UPDATE and DELETE on the audit log.
	await sql`
		create function audit_events_append_only() returns trigger language plpgsql as $$
		begin
			raise exception 'audit_events is append-only';
		end $$`.execute(db);
	await sql`
		create trigger audit_events_no_change before update or delete on audit_events
		for each row execute function audit_events_append_only()`.execute(db);

	await db.schema
		.createTable('login_attempts')
		.addColumn('id', 'bigserial', (c) => c.primaryKey())
		.addColumn('key', 'text', (c) => c.notNull())
		.addColumn('at', 'timestamptz', (c) => c.notNull())
		.addColumn('success', 'boolean', (c) => c.notNull())
		.execute();
	await db.schema.createIndex('login_attempts_key_at').on('login_attempts').columns(['key', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
	await db.schema.dropTable('login_attempts').execute();
	await sql`drop trigger if exists audit_events_no_change on audit_events`.execute(db);
	await db.schema.dropTable('audit_events').execute();
	await sql`drop function if exists audit_events_append_only()`.execute(db);
	await db.schema.dropTable('api_tokens').execute();
	await db.schema.dropTable('services').execute();
	await db.schema.dropTable('sessions').execute();
	await db.schema.dropTable('users').execute();
	await db.schema.dropTable('org_units').execute();
}
