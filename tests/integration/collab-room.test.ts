/**
 * The browser class (IncidentRoom) against the real endpoint, in Node: the `ws` client stands in for
 * the browser's WebSocket and IndexedDB is off. Checks what the screen shows: connection state, the
 * unsaved-changes count driven by commit acks, offline-marked entries, presence with server names.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IncidentRoom } from '../../src/lib/collab/incident-room.svelte';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';
import { sessionCookie, socketClass, startHarness, waitFor, type Harness } from './collab-harness';

let ctx: TestContext;
let h: Harness;
const rooms: IncidentRoom[] = [];

beforeAll(async () => {
	ctx = await createTestContext();
	h = await startHarness(ctx, { flushIntervalMs: 30 });
});
afterEach(() => {
	for (const r of rooms.splice(0)) r.destroy();
});
afterAll(async () => {
	await h.close();
	await ctx.close();
});

async function open(incidentId: string, opts: { role?: 'responder' | 'viewer'; name: string }) {
	const u = await makeUser(ctx, { role: opts.role ?? 'responder', displayName: opts.name });
	const { cookie } = await sessionCookie(ctx, u.id);
	const room = new IncidentRoom({
		incidentId,
		currentUser: { id: u.id, name: opts.name },
		readOnly: opts.role === 'viewer',
		serverUrl: h.url,
		persist: false,
		WebSocketImpl: socketClass({ cookie, origin: h.origin }) as unknown as typeof WebSocket
	});
	rooms.push(room);
	return { room, user: u };
}

describe(`IncidentRoom (browser class) against the endpoint (${dbLabel})`, () => {
	it('goes live, and counts a change as unsaved until the server has committed it', async () => {
		const id = randomUUID();
		const { room } = await open(id, { name: 'Alice' });
		await waitFor(() => room.status === 'live', 'live');
		room.addEntry({ kind: 'observation', text: 'Error rate 12 % on mobile banking', at: '2026-11-23T08:00:00Z' });
		expect(room.unsaved).toBe(1);
		await waitFor(() => room.unsaved === 0, 'the ack');
		expect(room.entries.map((e) => [e.kind, e.text, e.offline])).toEqual([['observation', 'Error rate 12 % on mobile banking', false]]);
		const committed = await ctx.db.selectFrom('collab_updates').select('id').where('doc', '=', id).execute();
		expect(committed.length).toBeGreaterThan(0);
	});

	it('marks entries written while disconnected as offline, keeps them unsaved, and saves them on reconnect', async () => {
		const id = randomUUID();
		const { room: a } = await open(id, { name: 'Alice' });
		const { room: b } = await open(id, { name: 'Bob' });
		await waitFor(() => a.status === 'live' && b.status === 'live', 'both live');

		a.provider.disconnect();
		await waitFor(() => a.status === 'offline', 'offline');
		const e1 = a.addEntry({ kind: 'action', text: 'Restarted gateway node 3' });
		a.editText(e1, 'Restarted gateway nodes 3 and 4');
		a.togglePin(e1);
		expect(a.unsaved).toBe(3);
		await waitFor(() => a.entries.length === 1, 'the entry on screen');
		expect(a.entries[0]).toMatchObject({ offline: true, pinned: true });
		b.addEntry({ kind: 'decision', text: 'Hold the change freeze' });

		a.provider.connect();
		await waitFor(() => a.unsaved === 0, 'offline changes to be acknowledged');
		await waitFor(() => a.entries.length === 2 && b.entries.length === 2, 'both to converge');
		expect(b.entries.find((e) => e.id === e1)).toMatchObject({ text: 'Restarted gateway nodes 3 and 4', offline: true, pinned: true });
		expect(a.entries.map((e) => e.id)).toEqual(b.entries.map((e) => e.id));
	});

	it('shares notes with minimal edits and shows who is here with server-stamped names', async () => {
		const id = randomUUID();
		const { room: a, user: alice } = await open(id, { name: 'Alice' });
		const { room: v } = await open(id, { role: 'viewer', name: 'Exec' });
		await waitFor(() => a.status === 'live' && v.status === 'live', 'both live');
		a.setNotes('Bridge: 8800\n');
		a.setNotes('Bridge: 8800\nVendor: ACME\n');
		await waitFor(() => v.notes === 'Bridge: 8800\nVendor: ACME\n', 'the viewer to read the notes');
		a.setTyping(true);
		await waitFor(() => v.presence.some((p) => p.id === alice.id && p.typing), 'the viewer to see Alice typing');
		expect(v.presence.map((p) => p.name).sort()).toEqual(['Alice', 'Exec']);
		expect(() => v.addEntry({ kind: 'note', text: 'nope' })).toThrow(/read-only/);
	});
});
