/**
 * Opening the database: PostgreSQL through `pg` when DATABASE_URL is set, otherwise the embedded
 * PGlite on disk (Kysely's own PGliteDialect). Same schema, same migrations, same queries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely';
import { Migrator, type MigrationResultSet } from 'kysely/migration';
import type { Database } from './schema';
import { migrations } from './migrations/index';
import { acquireDataDirLock, type DataDirLock } from './lock';

export type Db = Kysely<Database>;
export type DbKind = 'postgres' | 'pglite';

export interface DatabaseHandle {
	db: Db;
	kind: DbKind;
	/** For LISTEN/NOTIFY (PostgreSQL only): a function that opens a dedicated client. */
	connectionString?: string;
	close(): Promise<void>;
}

export interface OpenOptions {
	databaseUrl?: string;
	dataDir?: string;
	/** Only for tests: PGlite in memory (no lock, nothing on disk). */
	inMemory?: boolean;
	/** Pool size for PostgreSQL. */
	poolSize?: number;
}

/**
 * Connections the PostgreSQL pool keeps open even when idle (pg-pool's `min`; idle ones above it close
 * after 10 s): a reconnect storm after a quiet spell (a network blip, a restart) finds them ready.
 */
const WARM_CONNECTIONS = 4;

export async function openDatabase(opts: OpenOptions): Promise<DatabaseHandle> {
	if (opts.databaseUrl) {
		const pg = await import('pg');
		const Pool = pg.default?.Pool ?? pg.Pool;
		const max = opts.poolSize ?? 10;
		const min = Math.min(WARM_CONNECTIONS, max);
		const pool = new Pool({ connectionString: opts.databaseUrl, max, min });
		// A dropped idle connection (database restart) must not crash the process.
		pool.on('error', (e: Error) => {
			process.stderr.write(JSON.stringify({ level: 'warn', msg: 'postgres pool error', error: e.message }) + '\n');
		});
		// The pool listens only on idle clients: a connection lost while checked out (in a transaction or
		// between two queries) emits 'error' on the client with no listener, which would crash the process
		// too. The query in progress fails on its own; the pool discards the dead client on release.
		pool.on('connect', (client: import('pg').PoolClient) => {
			client.on('error', (e: Error) => {
				process.stderr.write(JSON.stringify({ level: 'warn', msg: 'postgres connection lost while in use', error: e.message }) + '\n');
			});
		});
		const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
		// Open the kept connections now, so the first burst after a start (everyone reconnecting)
		// does not also wait for connections to be made. Best effort: the first query reports a
		// database that cannot be reached.
		await Promise.all(
			Array.from({ length: min }, () =>
				pool.connect().then(
					(c: import('pg').PoolClient) => c.release(),
					() => undefined
				)
			)
		);
		let closed = false;
		return {
			db,
			kind: 'postgres',
			connectionString: opts.databaseUrl,
			async close() {
				if (closed) return;
				closed = true;
				await db.destroy();
				// Kysely ends the pool only if a query went through it; the kept connections are open anyway.
				if (!pool.ending) await pool.end();
			}
		};
	}

	const { PGlite } = await import('@electric-sql/pglite');
	let lock: DataDirLock | undefined;
	let pglite: InstanceType<typeof PGlite>;
	if (opts.inMemory) {
		pglite = new PGlite();
	} else {
		if (!opts.dataDir) throw new Error('openDatabase: dataDir is required for PGlite on disk');
		fs.mkdirSync(opts.dataDir, { recursive: true });
		lock = acquireDataDirLock(opts.dataDir);
		pglite = new PGlite(path.join(opts.dataDir, 'pglite'));
	}
	await pglite.waitReady;
	const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
	let closed = false;
	return {
		db,
		kind: 'pglite',
		async close() {
			if (closed) return;
			closed = true;
			await db.destroy();
			if (!pglite.closed) await pglite.close();
			lock?.release();
		}
	};
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
	const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: true });
	const result = await migrator.migrateToLatest();
	if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
	return result;
}

export async function migrateDown(db: Db): Promise<MigrationResultSet> {
	const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: true });
	const result = await migrator.migrateDown();
	if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
	return result;
}

export async function ping(db: Db): Promise<boolean> {
	try {
		await sql`select 1`.execute(db);
		return true;
	} catch {
		// A failed ping is the answer (the health check reports it), not an error to raise.
		return false;
	}
}
