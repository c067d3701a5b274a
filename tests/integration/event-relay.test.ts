/**
 * The event relay between processes (PostgreSQL only; PGlite is one process by design): two "processes"
 * here are two pools, two event buses and two relays on one database, as in collab-scale.test.ts.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invalidateSession, invalidateUserSessions } from '../../src/lib/server/auth/sessions';
import type { AppContext } from '../../src/lib/server/context';
import { SYSTEM_ACTOR } from '../../src/lib/server/context';
import { EVENTS_CHANNEL, MAX_PAYLOAD_BYTES, startEventRelay, type EventRelay } from '../../src/lib/server/event-relay';
import type { AppEvent } from '../../src/lib/server/events';
import { updateUser } from '../../src/lib/server/services/users.service';
import { createTestContext, secondProcess, makeUser, onPostgres, type TestContext } from '../helpers/context';
import { connectProvider, sessionCookie, startHarness, synced, waitFor, type Client, type Harness } from './collab-harness';

let ctx: TestContext;
let second: Awaited<ReturnType<typeof secondProcess>> | undefined;
let ctx2: AppContext;
const stops: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
	ctx = await createTestContext();
	if (onPostgres) {
		// A second "process": its own pool, its own event bus, its own rooms, the same database.
		second = await secondProcess(ctx);
		ctx2 = second.ctx;
	}
});
afterEach(async () => {
	for (const stop of stops.splice(0).reverse()) await stop();
});
afterAll(async () => {
	await second?.close();
	await ctx.close();
});

async function relay(c: AppContext): Promise<EventRelay> {
	const r = await startEventRelay({ events: c.events, db: c.db, connectionString: ctx.databaseUrl! });
	stops.push(() => r.stop());
	return r;
}

function record(c: AppContext): AppEvent[] {
	const seen: AppEvent[] = [];
	stops.push(c.events.subscribe((e) => seen.push(e)));
	return seen;
}

/** Ends every LISTEN connection of the relays on this database (the collab listener's channel is another). */
async function dropEventListeners(): Promise<number> {
	const admin = new pg.Client({ connectionString: ctx.databaseUrl });
	await admin.connect();
	try {
		const r = await admin.query(
			`select pg_terminate_backend(pid) from pg_stat_activity
			  where datname = current_database() and pid <> pg_backend_pid() and query = $1`,
			[`listen ${EVENTS_CHANNEL}`]
		);
		return r.rowCount ?? 0;
	} finally {
		await admin.end();
	}
}

describe.skipIf(!onPostgres)('event relay between processes (PostgreSQL)', () => {
	it('delivers what one process publishes to the other once, in order, and never back to its sender', async () => {
		await relay(ctx);
		await relay(ctx2);
		const here = record(ctx);
		const there = record(ctx2);
		const incidentId = randomUUID();
		const userId = randomUUID();
		const published: AppEvent[] = [
			{ type: 'incident.changed', incidentId, what: 'status' },
			{ type: 'membership.changed', incidentId, userId },
			{ type: 'sessions.ended', userId, sessionIds: ['s1', 's2'] },
			{ type: 'board.changed', incidentId: null }
		];
		for (const e of published) ctx.events.publish(e);
		await waitFor(() => there.length >= published.length, 'the other process to hear all four');
		expect(there).toEqual(published);

		// The way back works too, and by the time its marker arrives here, an echo of ours would have too.
		ctx2.events.publish({ type: 'user.changed', userId });
		await waitFor(() => here.length > published.length, 'the marker from the other process');
		expect(here).toEqual([...published, { type: 'user.changed', userId }]);
		expect(there).toHaveLength(published.length + 1);
	});

	it('tells the others they missed an event that is too large for NOTIFY', async () => {
		await relay(ctx);
		await relay(ctx2);
		const there = record(ctx2);
		const sessionIds = Array.from({ length: 300 }, () => randomUUID());
		expect(JSON.stringify(sessionIds).length).toBeGreaterThan(MAX_PAYLOAD_BYTES);
		ctx.events.publish({ type: 'sessions.ended', userId: randomUUID(), sessionIds });
		await waitFor(() => there.length > 0, 'the other process to hear of it');
		expect(there).toEqual([{ type: 'events.missed' }]);
	});

	it('ignores what is not an event on its channel and goes on relaying', async () => {
		await relay(ctx);
		await relay(ctx2);
		const there = record(ctx2);
		const raw = new pg.Client({ connectionString: ctx.databaseUrl });
		await raw.connect();
		try {
			for (const payload of [
				'not json',
				JSON.stringify({ node: 'elsewhere', event: { type: 'user.changed' } }),
				JSON.stringify({ node: 'elsewhere', event: { type: 'shutdown.everything' } }),
				JSON.stringify({ event: { type: 'board.changed', incidentId: null } })
			])
				await raw.query('select pg_notify($1, $2)', [EVENTS_CHANNEL, payload]);
		} finally {
			await raw.end();
		}
		const userId = randomUUID();
		ctx.events.publish({ type: 'user.changed', userId });
		await waitFor(() => there.length > 0, 'the valid event');
		expect(there).toEqual([{ type: 'user.changed', userId }]);
	});

	it('tells this process it missed events when its LISTEN connection comes back', async () => {
		await relay(ctx2);
		const there = record(ctx2);
		expect(await dropEventListeners()).toBeGreaterThanOrEqual(1);
		await waitFor(() => there.some((e) => e.type === 'events.missed'), 'events.missed after the reconnect', 10_000);
		// And it listens again.
		await relay(ctx);
		const userId = randomUUID();
		ctx.events.publish({ type: 'user.changed', userId });
		await waitFor(() => there.some((e) => e.type === 'user.changed'), 'an event after the reconnect');
	});

	describe('open sockets on the other process', () => {
		let h2: Harness | undefined;
		const clients: Client[] = [];
		afterEach(async () => {
			for (const c of clients.splice(0)) c.destroy();
			await h2?.close();
			h2 = undefined;
		});

		async function socketOnSecond(h: Harness) {
			const u = await makeUser(ctx, { role: 'responder' });
			const s = await sessionCookie(ctx, u.id);
			const c = connectProvider(h, { room: randomUUID(), cookie: s.cookie });
			clients.push(c);
			await synced(c);
			return { user: u, session: s, client: c };
		}

		it('closes them on a logout, a disabled account and a role change made on this one', async () => {
			await relay(ctx);
			await relay(ctx2);
			const h = (h2 = await startHarness(ctx2));

			const a = await socketOnSecond(h);
			await invalidateSession(ctx, { id: a.session.sessionId, user_id: a.user.id });
			await waitFor(() => a.client.closes.length > 0, 'the logged-out socket to close');
			expect(a.client.closes[0]!.code).toBe(4401);

			const b = await socketOnSecond(h);
			const disabled = await updateUser(ctx, SYSTEM_ACTOR, { userId: b.user.id, input: { disabled: true } });
			expect(disabled.ok).toBe(true);
			await waitFor(() => b.client.closes.length > 0, "the disabled user's socket to close");
			expect(b.client.closes[0]!.code).toBe(4401);

			const c = await socketOnSecond(h);
			const demoted = await updateUser(ctx, SYSTEM_ACTOR, { userId: c.user.id, input: { globalRole: 'viewer' } });
			expect(demoted.ok).toBe(true);
			// A responder turned viewer keeps reading: the socket reconnects read-only (4000).
			await waitFor(() => c.client.closes.length > 0, "the demoted user's socket to be re-checked");
			expect(c.client.closes[0]!.code).toBe(4000);

			const d = await socketOnSecond(h);
			await invalidateUserSessions(ctx, d.user.id);
			await waitFor(() => d.client.closes.length > 0, 'the socket of a user logged out everywhere to close');
			expect(d.client.closes[0]!.code).toBe(4401);
		});

		it('re-checks them all after its LISTEN connection drops: a change it never heard of still applies', async () => {
			await relay(ctx2);
			const h = (h2 = await startHarness(ctx2));
			const kept = await socketOnSecond(h);
			const gone = await socketOnSecond(h);
			// Disabled behind every process's back (no event at all): only the re-check can find out.
			await ctx.db.updateTable('users').set({ disabled: true }).where('id', '=', gone.user.id).execute();
			await dropEventListeners();
			await waitFor(() => gone.client.closes.length > 0, "the disabled user's socket to close", 10_000);
			expect(gone.client.closes[0]!.code).toBe(4401);
			expect(kept.client.closes).toEqual([]);
			expect(kept.client.provider.wsconnected).toBe(true);
		});
	});
});
