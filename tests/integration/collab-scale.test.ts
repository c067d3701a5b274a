import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createEntry, listEntries, notesOf } from '../../src/lib/collab/incident-doc';
import type { AppContext } from '../../src/lib/server/context';
import { createTestContext, secondProcess, makeUser, onPostgres, type TestContext } from '../helpers/context';
import pg from 'pg';
import * as collabRepo from '../../src/lib/server/repositories/collab.repository';
import { countingDb } from '../helpers/queries';
import { connectProvider, sessionCookie, startHarness, synced, waitFor, type Harness } from './collab-harness';

let ctx: TestContext;
let second: Awaited<ReturnType<typeof secondProcess>> | undefined;
let ctx2: AppContext;

beforeAll(async () => {
	ctx = await createTestContext();
	if (onPostgres) {
		// A second "process": its own pool, its own event bus, its own rooms, the same database.
		second = await secondProcess(ctx);
		ctx2 = second.ctx;
	}
});
afterAll(async () => {
	await second?.close();
	await ctx.close();
});

function entry(doc: Y.Doc, text: string, at: string) {
	createEntry(doc, { id: randomUUID(), at, recordedAt: at, kind: 'action', text, author: 'u', authorName: 'U' });
}

describe('scale-out on PostgreSQL', () => {
	it.skipIf(!onPostgres)('two processes on one database converge through the update log and LISTEN/NOTIFY', async () => {
		const harnesses: Harness[] = [];
		const destroyers: (() => void)[] = [];
		try {
			const h1 = await startHarness(ctx);
			const h2 = await startHarness(ctx2);
			harnesses.push(h1, h2);
			const room = randomUUID();
			const alice = await makeUser(ctx, { role: 'responder' });
			const bob = await makeUser(ctx, { role: 'responder' });
			const a = connectProvider(h1, { room, cookie: (await sessionCookie(ctx, alice.id)).cookie, acks: true });
			const b = connectProvider(h2, { room, cookie: (await sessionCookie(ctx, bob.id)).cookie, acks: true });
			destroyers.push(
				() => a.destroy(),
				() => b.destroy()
			);
			await Promise.all([synced(a), synced(b)]);

			entry(a.doc, 'on node 1', '2026-11-23T08:01:00Z');
			entry(b.doc, 'on node 2', '2026-11-23T08:00:00Z');
			notesOf(a.doc).insert(0, 'node one. ');
			await waitFor(() => listEntries(a.doc).length === 2 && listEntries(b.doc).length === 2, 'entries to cross processes');
			await waitFor(() => notesOf(b.doc).toString() === 'node one. ', 'notes to cross processes');
			expect(listEntries(a.doc).map((e) => e.text)).toEqual(['on node 2', 'on node 1']);
			expect(listEntries(b.doc)).toEqual(listEntries(a.doc));

			// A service on node 2 writes while node 1 holds the room: node 1's client sees it live.
			await h2.server.port.appendSystemEntry(room, {
				kind: 'status',
				text: { 'zh-CN': '已缓解', en: 'Mitigated' },
				at: new Date('2026-11-23T08:02:00Z')
			});
			await waitFor(() => listEntries(a.doc).length === 3, 'the system entry to reach node 1');

			// A room loaded late on a process reads everything from the log.
			const latecomer = await makeUser(ctx, { role: 'viewer' });
			const c = connectProvider(h2, { room, cookie: (await sessionCookie(ctx, latecomer.id)).cookie });
			destroyers.push(() => c.destroy());
			await synced(c);
			expect(listEntries(c.doc)).toHaveLength(3);
		} finally {
			for (const d of destroyers) d();
			for (const h of harnesses) await h.close();
		}
	});

	it.skipIf(!onPostgres)('a process catches up with rows another process compacted away meanwhile', async () => {
		const h1 = await startHarness(ctx, { compactAfterRows: 3, flushIntervalMs: 5 });
		const h2 = await startHarness(ctx2, { compactAfterRows: 1000 });
		try {
			const room = randomUUID();
			await h2.server.port.read(room, () => undefined); // node 2 holds the room loaded
			for (let i = 0; i < 8; i++) {
				await h1.server.port.transact(room, (d) => entry(d, `step ${i}`, new Date(Date.UTC(2026, 10, 23, 8, i)).toISOString()));
			}
			await waitFor(async () => (await h2.server.port.read(room, (d) => listEntries(d).length)) === 8, 'node 2 to have every entry');
			const snap = await ctx.db.selectFrom('collab_snapshots').select('doc').where('doc', '=', room).executeTakeFirst();
			expect(snap).toBeDefined();
		} finally {
			await h1.close();
			await h2.close();
		}
	});

	it.skipIf(!onPostgres)('two processes writing one room and compacting it often lose nothing and agree', async () => {
		const h1 = await startHarness(ctx, { compactAfterRows: 3, flushIntervalMs: 5 });
		const h2 = await startHarness(ctx2, { compactAfterRows: 3, flushIntervalMs: 5 });
		const texts = Array.from({ length: 24 }, (_, i) => `step ${i} on node ${(i % 2) + 1}`);
		const room = randomUUID();
		try {
			// Each commit is fetched by the other process (NOTIFY) while both fold the log every few rows:
			// a fold holds the rows fetched from the other process, or finds the snapshot replaced under it
			// and decodes the stored log.
			for (const [i, text] of texts.entries()) {
				const h = i % 2 === 0 ? h1 : h2;
				await h.server.port.transact(room, (d) => entry(d, text, new Date(Date.UTC(2026, 10, 23, 8, i)).toISOString()));
			}
			const both = async () => [
				await h1.server.port.read(room, (d) => listEntries(d).length),
				await h2.server.port.read(room, (d) => listEntries(d).length)
			];
			await waitFor(async () => (await both()).every((n) => n === texts.length), 'both processes to hold every entry');
			expect(h1.server.rooms.counters.compactions).toBeGreaterThan(0);
			expect(h2.server.rooms.counters.compactions).toBeGreaterThan(0);
		} finally {
			await h1.close();
			await h2.close();
		}
		// What is stored, read by a third process.
		const h3 = await startHarness(ctx, { compactAfterRows: 1000 });
		try {
			expect(await h3.server.port.read(room, (d) => listEntries(d).map((e) => e.text))).toEqual(texts);
		} finally {
			await h3.close();
		}
		const left = await ctx.db.selectFrom('collab_updates').select('id').where('doc', '=', room).execute();
		expect(left.length).toBeLessThan(texts.length);
	});

	it.skipIf(!onPostgres)('a commit is one statement: its rows and their notifications, together or not at all', async () => {
		const listener = new pg.Client({ connectionString: ctx.databaseUrl! });
		await listener.connect();
		try {
			const channel = `collab_test_${randomUUID().replaceAll('-', '')}`;
			const got: string[] = [];
			listener.on('notification', (m) => {
				if (m.channel === channel && m.payload !== undefined) got.push(m.payload);
			});
			await listener.query(`listen ${channel}`);
			const [d1, d2] = [randomUUID(), randomUUID()];
			const { db, queries } = countingDb(ctx.db);
			const ids = await collabRepo.appendAndNotify(
				db,
				[
					{ doc: d1, update: new Uint8Array([1, 2, 3]), nodeId: 'node-a' },
					{ doc: d2, update: new Uint8Array([4]), nodeId: 'node-a' }
				],
				channel
			);
			expect(queries).toEqual(['select']);
			expect(ids.map((r) => r.doc)).toEqual([d1, d2]);
			expect(BigInt(ids[1]!.id)).toBeGreaterThan(BigInt(ids[0]!.id));
			await waitFor(() => got.length === 2, 'both notifications');
			const payloads = got.map((p) => JSON.parse(p) as { doc: string; id: string; node: string });
			expect(payloads.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)))).toEqual([
				{ doc: d1, id: ids[0]!.id, node: 'node-a' },
				{ doc: d2, id: ids[1]!.id, node: 'node-a' }
			]);
			const stored = await collabRepo.listByIds(ctx.db, d1, [ids[0]!.id]);
			expect(stored.map((r) => [...r.update])).toEqual([[1, 2, 3]]);

			// A statement that fails (a row without a document) stores nothing and notifies nobody.
			const d3 = randomUUID();
			await expect(
				collabRepo.appendAndNotify(
					ctx.db,
					[
						{ doc: d3, update: new Uint8Array([5]), nodeId: 'node-a' },
						{ doc: null as unknown as string, update: new Uint8Array([6]), nodeId: 'node-a' }
					],
					channel
				)
			).rejects.toThrow(/null value in column "doc"/);
			await listener.query('select 1'); // a round trip on the listener: a notification would be here by now
			expect(got).toHaveLength(2);
			const { snapshot, rows } = await collabRepo.readDocument(ctx.db, d3);
			expect(snapshot).toBeUndefined();
			expect(rows).toEqual([]);
		} finally {
			await listener.end();
		}
	});
});
