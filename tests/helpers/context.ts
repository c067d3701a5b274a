/**
 * Integration tests run on a real database: PGlite in memory by default, and a fresh PostgreSQL
 * database (created and dropped per test file) when TEST_DATABASE_URL is set. Never a mock.
 */
import pg from 'pg';
import { loadConfig, type Config } from '../../src/lib/server/config';
import type { Actor, AppContext } from '../../src/lib/server/context';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/lib/server/db/index';
import { EventBus } from '../../src/lib/server/events';
import { actorFromUser, createUser } from '../../src/lib/server/services/users.service';
import { SYSTEM_ACTOR } from '../../src/lib/server/context';
import type { GlobalRole } from '../../src/lib/domain/roles';

export const onPostgres = !!process.env.TEST_DATABASE_URL;
export const dbLabel = onPostgres ? 'postgres' : 'pglite';

export interface TestContext extends AppContext {
	handle: DatabaseHandle;
	/** Set the clock (tests that need a fixed now). */
	setNow(d: Date | null): void;
	databaseUrl?: string;
	close(): Promise<void>;
}

/** Creates a fresh PostgreSQL database on the TEST_DATABASE_URL server; returns its URL and a dropper. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
	const base = new URL(process.env.TEST_DATABASE_URL!);
	// The local server uses trust auth; without a user name libpq would need $USER, absent in CI.
	if (!base.username) base.username = 'postgres';
	const name = `warroom_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
	const admin = new pg.Client({ connectionString: base.toString() });
	await admin.connect();
	await admin.query(`create database ${name}`);
	await admin.end();
	const url = new URL(base.toString());
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		async drop() {
			const c = new pg.Client({ connectionString: base.toString() });
			await c.connect();
			await c.query(`drop database if exists ${name} with (force)`);
			await c.end();
		}
	};
}

export async function createTestContext(overrides: Partial<Config> = {}): Promise<TestContext> {
	let drop: (() => Promise<void>) | undefined;
	let databaseUrl: string | undefined;
	if (onPostgres) {
		const fresh = await freshPostgresDatabase();
		databaseUrl = fresh.url;
		drop = fresh.drop;
	}
	const handle = await openDatabase(databaseUrl ? { databaseUrl, poolSize: 5 } : { inMemory: true });
	await migrateToLatest(handle.db);
	const config = { ...loadConfig({}), databaseUrl, ...overrides };
	let fixed: Date | null = null;
	return {
		db: handle.db,
		dbKind: handle.kind,
		config,
		events: new EventBus(),
		now: () => fixed ?? new Date(),
		setNow: (d) => (fixed = d),
		handle,
		databaseUrl,
		async close() {
			await handle.close();
			await drop?.();
		}
	};
}

/**
 * A second "process" on the test's PostgreSQL database: its own pool, its own event bus (no relay
 * unless the test starts one), the same database. Close it before the context.
 */
export async function secondProcess(ctx: TestContext): Promise<{ ctx: AppContext; close(): Promise<void> }> {
	const handle = await openDatabase({ databaseUrl: ctx.databaseUrl!, poolSize: 3 });
	return { ctx: { ...ctx, db: handle.db, events: new EventBus() }, close: () => handle.close() };
}

let seq = 0;
/** A user factory: real rows through the real service. */
export async function makeUser(
	ctx: AppContext,
	opts: { role?: GlobalRole; username?: string; orgUnitId?: string; displayName?: string; password?: string } = {}
): Promise<{ id: string; username: string; actor: Actor; password: string }> {
	seq++;
	const username = opts.username ?? `user${seq}${Math.random().toString(36).slice(2, 6)}`;
	const password = opts.password ?? 'correct-horse-battery';
	const r = await createUser(ctx, SYSTEM_ACTOR, {
		username,
		displayName: opts.displayName ?? `User ${seq}`,
		globalRole: opts.role ?? 'responder',
		password,
		orgUnitId: opts.orgUnitId,
		email: `${username}@example.test`,
		phone: '+86 10 1234 5678'
	});
	if (!r.ok) throw new Error(`makeUser: ${r.error.message}`);
	const { findById } = await import('../../src/lib/server/repositories/users.repository');
	const row = await findById(ctx.db, r.value.id);
	return { id: r.value.id, username, actor: actorFromUser(row!), password };
}
