/**
 * A PostgreSQL connection lost while it is checked out of the pool (a restart, a failover, an
 * administrator's pg_terminate_backend) must fail only the work on it, never crash the process: the
 * pool's own error listener covers idle clients only. PostgreSQL only (PGlite has no connections).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, onPostgres, type TestContext } from '../helpers/context';

describe.skipIf(!onPostgres)('a PostgreSQL connection lost while in use (postgres)', () => {
	let ctx: TestContext;
	beforeAll(async () => {
		ctx = await createTestContext();
	});
	afterAll(async () => {
		await ctx?.close();
	});

	it('fails the work on that connection, not the process, and the pool goes on with a new one', async () => {
		const outcome = await ctx.db
			.connection()
			.execute(async (conn) => {
				const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
				// Killed from another pooled connection while this one is checked out and idle between queries:
				// the server's FATAL arrives as an 'error' event on a client no pool listener watches.
				await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(ctx.db);
				await new Promise((r) => setTimeout(r, 300));
				await sql`select 1`.execute(conn);
				return 'still usable';
			})
			.catch((e: Error) => `failed: ${e.message}`);
		expect(outcome).toMatch(/^failed: /);
		// Vitest fails the run on an unhandled 'error' event; the pool works on with fresh connections.
		const { rows } = await sql<{ one: number }>`select 1 as one`.execute(ctx.db);
		expect(rows[0]!.one).toBe(1);
	});
});
