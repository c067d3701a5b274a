import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createEntry } from '../../src/lib/collab/incident-doc';
import { createSession } from '../../src/lib/server/auth/sessions';
import { warmUpCollab } from '../../src/lib/server/collab/warmup';
import type { AppEvent } from '../../src/lib/server/events';
import * as collabRepo from '../../src/lib/server/repositories/collab.repository';
import { declareIncident } from '../../src/lib/server/services/incident.service';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';

let ctx: TestContext;

beforeAll(async () => {
	ctx = await createTestContext();
});

afterAll(async () => {
	await ctx?.close();
});

/** Everything the warm-up could change if it wrote: row counts, and every session's last_seen_at. */
async function footprint() {
	const count = async (table: 'sessions' | 'collab_updates' | 'collab_snapshots' | 'audit_events' | 'incidents' | 'users') =>
		Number(
			(
				await ctx.db
					.selectFrom(table)
					.select((eb) => eb.fn.countAll<string>().as('n'))
					.executeTakeFirstOrThrow()
			).n
		);
	const seen = await ctx.db.selectFrom('sessions').select(['id', 'last_seen_at']).orderBy('id').execute();
	return {
		sessions: await count('sessions'),
		updates: await count('collab_updates'),
		snapshots: await count('collab_snapshots'),
		audit: await count('audit_events'),
		incidents: await count('incidents'),
		users: await count('users'),
		lastSeen: seen.map((s) => `${s.id} ${s.last_seen_at.toISOString()}`)
	};
}

describe(`collab warm-up (${dbLabel})`, () => {
	it("runs a room's first clients' reads against real sessions and an open incident's document, and changes nothing", async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		await createSession(ctx, { userId: manager.id, ip: '127.0.0.1', userAgent: 'test' });
		const declared = await declareIncident(ctx, manager.actor, {
			title: 'Core banking slow',
			description: 'Answers in 8 s',
			impact: 'extensive',
			urgency: 'high'
		});
		if (!declared.ok) throw new Error(declared.error.message);
		const incidentId = declared.value.incident.id;
		// The incident's stored document: a snapshot and a row past it.
		const writer = new Y.Doc();
		const at = '2026-11-23T08:00:00Z';
		createEntry(writer, { id: randomUUID(), at, recordedAt: at, kind: 'note', text: 'first', author: 'u', authorName: 'U' });
		await collabRepo.upsertSnapshot(ctx.db, { doc: incidentId, state: Y.encodeStateAsUpdate(writer), uptoId: '0', at: new Date() });
		const before = Y.encodeStateVector(writer);
		createEntry(writer, { id: randomUUID(), at, recordedAt: at, kind: 'note', text: 'second', author: 'u', authorName: 'U' });
		await collabRepo.append(ctx.db, [{ doc: incidentId, update: Y.encodeStateAsUpdate(writer, before), nodeId: 'n' }]);

		const events: AppEvent[] = [];
		const unsubscribe = ctx.events.subscribe((e) => events.push(e));
		const was = await footprint();
		const report = await warmUpCollab(ctx, { documentBudgetMs: 0 });
		unsubscribe();

		// A token lookup, the recent sessions and their users, the open incidents, then the rule and the
		// document of the open incident and of an id that is none.
		expect(report.queries).toBe(8);
		expect(report.rounds).toBe(1);
		expect(await footprint()).toEqual(was);
		expect(events).toEqual([]);
	});

	it('runs document rounds until its budget is spent or its maximum is reached', async () => {
		expect((await warmUpCollab(ctx, { documentBudgetMs: 60_000, maxRounds: 3 })).rounds).toBe(3);
		const timed = await warmUpCollab(ctx, { documentBudgetMs: 1, maxRounds: 1000 });
		expect(timed.rounds).toBeGreaterThanOrEqual(1);
		expect(timed.rounds).toBeLessThan(1000);
	});

	it('still warms the document paths when the database does not answer, and does not throw', async () => {
		const broken = await createTestContext();
		await broken.close();
		const report = await warmUpCollab(broken, { documentBudgetMs: 0 });
		expect(report.queries).toBe(0);
		expect(report.rounds).toBe(1);
	});
});
