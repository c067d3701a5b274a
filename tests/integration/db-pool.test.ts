/**
 * The PostgreSQL pool opens the connections it keeps (pg-pool's `min`) when the database is opened, so
 * the first reconnect storm after a start does not also wait for connections to be made; closing the
 * database closes them. PostgreSQL only (PGlite has no connections).
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/lib/server/db/index';
import { freshPostgresDatabase, onPostgres } from '../helpers/context';

/** Connections to the database `name`, counted from a separate connection to the server's own database. */
async function connectionsTo(name: string): Promise<number> {
	const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL, user: 'postgres' });
	await c.connect();
	try {
		const r = await c.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = $1', [name]);
		return Number(r.rows[0]!.n);
	} finally {
		await c.end();
	}
}

describe.skipIf(!onPostgres)('the PostgreSQL pool (postgres)', () => {
	it('has its four kept connections open as soon as the database is opened, and none once it is closed', async () => {
		const fresh = await freshPostgresDatabase();
		const name = new URL(fresh.url).pathname.slice(1);
		try {
			const handle = await openDatabase({ databaseUrl: fresh.url });
			expect(await connectionsTo(name)).toBe(4);
			await handle.close();
			// A server process leaves pg_stat_activity a moment after its client said goodbye.
			let left = await connectionsTo(name);
			for (let i = 0; i < 50 && left > 0; i++) {
				await new Promise((r) => setTimeout(r, 100));
				left = await connectionsTo(name);
			}
			expect(left).toBe(0);
		} finally {
			await fresh.drop();
		}
	});
});
