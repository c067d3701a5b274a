/**
 * While the collaboration server cannot commit, it says so: the room manager's save state turns to
 * `failing` and `/api/health` answers degraded — even when the database still answers a ping (here the
 * log table is renamed away, so every commit fails). Changes wait unacknowledged and are committed by
 * the retry once saving works again. Real database, real room manager; nothing mocked.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEntry, listEntries } from '../../src/lib/collab/incident-doc';
import type { App } from '../../src/lib/server/app';
import { health } from '../../src/lib/server/services/health.service';
import { createTestContext, dbLabel, type TestContext } from '../helpers/context';
import { startHarness, waitFor, type Harness } from './collab-harness';

describe(`collab save state and /api/health while commits fail (${dbLabel})`, () => {
	let ctx: TestContext;
	let h: Harness;
	let app: App;
	beforeAll(async () => {
		ctx = await createTestContext();
		h = await startHarness(ctx, { flushIntervalMs: 20 });
		ctx.collab = h.server.port;
		// What health() reads of the app; the rest of App (upgrade routes, shutdown) plays no part here.
		app = { ctx, database: ctx.handle, startedAt: new Date(), version: 'test' } as unknown as App;
	});
	afterAll(async () => {
		// Whatever happened, give the table back so the harness can flush on close.
		await sql`alter table if exists collab_updates_away rename to collab_updates`.execute(ctx.db).catch(() => undefined);
		await h?.close();
		await ctx?.close();
	});

	it('reports failing with the waiting changes, never resolves an uncommitted change, and recovers by itself', async () => {
		const room = randomUUID();
		const ok = await health(app);
		expect(ok.status).toBe('ok');
		expect(ok.collab).toEqual({ saving: 'ok', unsavedUpdates: 0 });

		// Load the room first (loading reads the log; here only commits are meant to fail), then break commits.
		await h.server.port.read(room, () => undefined);
		await sql`alter table collab_updates rename to collab_updates_away`.execute(ctx.db);
		let committed = false;
		const write = (text: string) =>
			h.server.port.transact(room, (doc) =>
				createEntry(doc, { id: randomUUID(), at: new Date(), recordedAt: new Date(), kind: 'note', text, author: null, authorName: 'T' })
			);
		const first = write('one').then(() => (committed = true));
		const second = write('two');

		await waitFor(() => h.server.port.saveState!().saving === 'failing', 'the save state to turn failing', 5000);
		const down = await health(app);
		expect(down.status).toBe('degraded');
		expect(down.database.reachable).toBe(true); // the database answers; saving is what fails
		expect(down.collab?.saving).toBe('failing');
		expect(down.collab?.unsavedUpdates).toBeGreaterThanOrEqual(2);
		expect(Date.parse(down.collab!.failingSince!)).toBeLessThanOrEqual(Date.now());
		// A few retries later, still nothing claims to be committed.
		await new Promise((r) => setTimeout(r, 300));
		expect(committed).toBe(false);

		await sql`alter table collab_updates_away rename to collab_updates`.execute(ctx.db);
		await Promise.all([first, second]); // the back-off retry commits them (at most a few seconds)
		expect(committed).toBe(true);
		const back = await health(app);
		expect(back.status).toBe('ok');
		expect(back.collab).toEqual({ saving: 'ok', unsavedUpdates: 0 });
		const rows = await ctx.db.selectFrom('collab_updates').select('id').where('doc', '=', room).execute();
		expect(rows.length).toBeGreaterThan(0);
		expect(await h.server.port.read(room, (d) => listEntries(d).map((e) => e.text))).toEqual(expect.arrayContaining(['one', 'two']));
	}, 30_000);
});
