import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { createEntry, listEntries, notesOf } from '../../src/lib/collab/incident-doc';
import { invalidateSession } from '../../src/lib/server/auth/sessions';
import type { AppContext } from '../../src/lib/server/context';
import { createTestContext, dbLabel, makeUser, onPostgres, type TestContext } from '../helpers/context';
import {
	MESSAGE_ACK,
	MESSAGE_SYNC,
	SYNC_STEP_1,
	SYNC_STEP_2,
	encodeAwareness,
	encodeAwarenessUpdate,
	encodeUpdate
} from '../../src/lib/server/collab/protocol';
import type { Fold, RoomPeer } from '../../src/lib/server/collab/room-manager';
import * as collabRepo from '../../src/lib/server/repositories/collab.repository';
import {
	closed,
	connectProvider,
	rawUpgrade,
	sessionCookie,
	startHarness,
	synced,
	waitFor,
	type Client,
	type Harness
} from './collab-harness';

let ctx: TestContext;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
	ctx = await createTestContext();
});
afterEach(async () => {
	for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
	await ctx.close();
});

async function harness(opts: Parameters<typeof startHarness>[1] = {}, context: AppContext = ctx): Promise<Harness> {
	const h = await startHarness(context, opts);
	cleanups.push(() => h.close());
	return h;
}

async function user(role: 'admin' | 'manager' | 'responder' | 'viewer' = 'responder', displayName?: string) {
	const u = await makeUser(ctx, { role, displayName });
	const { cookie, sessionId } = await sessionCookie(ctx, u.id);
	return { ...u, cookie, sessionId };
}

function client(h: Harness, opts: Parameters<typeof connectProvider>[1]): Client {
	const c = connectProvider(h, opts);
	cleanups.push(() => c.destroy());
	return c;
}

/** A peer for calling the room manager directly: it takes acks and messages and does nothing with them. */
const SILENT_PEER: RoomPeer = { label: 'test peer', ack() {}, send() {} };

/** An update on top of `base` that depends on an entry the server never receives: it waits for its dependencies. */
function waitingUpdate(base: Y.Doc, text: string, at: string): Uint8Array {
	const gap = new Y.Doc();
	Y.applyUpdate(gap, Y.encodeStateAsUpdate(base));
	entry(gap, `before "${text}" (never sent)`, at);
	const sent = Y.encodeStateVector(gap);
	entry(gap, text, at);
	return Y.encodeStateAsUpdate(gap, sent);
}

/** What a sync message of this kind carries: the state vector of a step 1, the update of a step 2. */
function syncPayload(message: Uint8Array, sub: typeof SYNC_STEP_1 | typeof SYNC_STEP_2): Uint8Array {
	const d = decoding.createDecoder(message);
	expect([decoding.readVarUint(d), decoding.readVarUint(d)]).toEqual([MESSAGE_SYNC, sub]);
	return decoding.readVarUint8Array(d);
}

function entry(doc: Y.Doc, text: string, at = '2026-11-23T08:00:00Z') {
	return createEntry(doc, { id: randomUUID(), at, recordedAt: at, kind: 'note', text, author: 'u', authorName: 'U' });
}

async function logRows(doc: string): Promise<number> {
	const r = await ctx.db
		.selectFrom('collab_updates')
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.where('doc', '=', doc)
		.executeTakeFirstOrThrow();
	return Number(r.n);
}

/** The document as committed in the database (snapshot + log), independent of any room in memory. */
async function committedDoc(doc: string, context: AppContext = ctx): Promise<Y.Doc> {
	const y = new Y.Doc();
	const snap = await context.db.selectFrom('collab_snapshots').select(['state', 'upto_id']).where('doc', '=', doc).executeTakeFirst();
	if (snap) Y.applyUpdate(y, snap.state);
	const rows = await context.db.selectFrom('collab_updates').select('update').where('doc', '=', doc).orderBy('id').execute();
	for (const r of rows) Y.applyUpdate(y, r.update);
	return y;
}

/** Writes `entry 0` … `entry n-1`, waiting for each one's ack: one flush per entry, so the log grows a row at a time. */
async function writeAcked(c: Client, n: number): Promise<void> {
	for (let i = 0; i < n; i++) {
		const before = c.acked();
		entry(c.doc, `entry ${i}`, new Date(Date.UTC(2026, 10, 23, 8, i)).toISOString());
		await waitFor(() => c.acked() > before, `ack ${i}`);
	}
}

describe(`collab endpoint (${dbLabel})`, () => {
	it('lets the stock y-websocket provider connect, read what the server wrote and write back', async () => {
		const h = await harness();
		const room = randomUUID();
		await h.server.port.appendSystemEntry(room, { kind: 'status', text: { 'zh-CN': '已宣布', en: 'Declared' } });
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie });
		await synced(a);
		expect(listEntries(a.doc).map((e) => e.i18n?.en)).toEqual(['Declared']);

		entry(a.doc, 'Alarm storm on the payment gateway');
		await waitFor(async () => (await h.server.port.read(room, (d) => listEntries(d).length)) === 2, 'the server to apply the write');
		await waitFor(async () => listEntries(await committedDoc(room)).length === 2, 'the write to be committed');
	});

	it('makes two writers converge', async () => {
		const h = await harness();
		const room = randomUUID();
		const [alice, bob] = [await user(), await user()];
		const a = client(h, { room, cookie: alice.cookie });
		const b = client(h, { room, cookie: bob.cookie });
		await Promise.all([synced(a), synced(b)]);
		entry(a.doc, 'from alice', '2026-11-23T08:01:00Z');
		entry(b.doc, 'from bob', '2026-11-23T08:00:00Z');
		notesOf(a.doc).insert(0, 'DC2 ready. ');
		notesOf(b.doc).insert(0, 'Vendor on the bridge. ');
		await waitFor(() => listEntries(a.doc).length === 2 && listEntries(b.doc).length === 2, 'both entries on both sides');
		await waitFor(() => notesOf(a.doc).toString() === notesOf(b.doc).toString() && notesOf(a.doc).length > 20, 'notes to converge');
		expect(listEntries(a.doc).map((e) => e.text)).toEqual(['from bob', 'from alice']);
		expect(listEntries(b.doc)).toEqual(listEntries(a.doc));
	});

	it('drops both sync-step-2 and update messages from read-only users', async () => {
		const h = await harness();
		const room = randomUUID();
		const writer = await user();
		const viewer = await user('viewer');
		const w = client(h, { room, cookie: writer.cookie });
		await synced(w);
		entry(w.doc, 'written by the responder');

		// Content the viewer had before connecting reaches the server as sync step 2 …
		const viewerDoc = new Y.Doc();
		entry(viewerDoc, 'viewer offline edit');
		const v = client(h, { room, cookie: viewer.cookie, doc: viewerDoc });
		await synced(v);
		// … and content written afterwards as an update message.
		entry(v.doc, 'viewer live edit');
		notesOf(v.doc).insert(0, 'viewer notes');

		// The viewer still receives everything (a read-only user reads the document).
		await waitFor(() => listEntries(v.doc).some((e) => e.text === 'written by the responder'), 'the viewer to receive the document');
		entry(w.doc, 'a later responder entry', '2026-11-23T08:05:00Z');
		await waitFor(() => listEntries(v.doc).some((e) => e.text === 'a later responder entry'), 'the viewer to keep receiving');
		await h.server.rooms.flushNow();
		const server = await h.server.port.read(room, (d) => ({ texts: listEntries(d).map((e) => e.text), notes: notesOf(d).toString() }));
		expect(server.texts).toEqual(['written by the responder', 'a later responder entry']);
		expect(server.notes).toBe('');
		expect(listEntries(w.doc).map((e) => e.text)).toEqual(['written by the responder', 'a later responder entry']);
		expect(listEntries(await committedDoc(room)).map((e) => e.text)).toEqual(['written by the responder', 'a later responder entry']);
		expect(v.ackLog).toEqual([]);
	});

	describe('refuses an upgrade with an HTTP status and no socket', () => {
		it.each([
			['no session cookie', { cookie: undefined }, 401],
			['an invalid session', { cookie: 'warroom_session=abc.def' }, 401],
			['a wrong Origin', { origin: 'https://evil.example' }, 403],
			['a missing Origin', { origin: null }, 403],
			['an unknown path', { path: '/collab/' }, 404],
			['a nested path', { path: '/collab/a/b' }, 404],
			['a malformed incident id', { path: '/collab/%2E%2E%2Fetc' }, 400]
		] as const)('%s', async (_name, over, status) => {
			const h = await harness();
			const u = await user();
			const res = await rawUpgrade(h, { path: `/collab/${randomUUID()}`, cookie: u.cookie, ...over });
			expect('status' in res && res.status).toBe(status);
			expect(h.server.connectionCount()).toBe(0);
		});

		it('a cookie that is no session: a malformed one reads nothing of the room, a failed room read does not outlive the refusal', async () => {
			let asked = 0;
			const h = await harness({
				accessResolver: async () => {
					asked++;
					throw new Error('database unavailable');
				}
			});
			const room = `/collab/${randomUUID()}`;
			const malformed = await rawUpgrade(h, { path: room, cookie: 'warroom_session=not-a-token' });
			expect('status' in malformed && malformed.status).toBe(401);
			expect(asked).toBe(0);
			// Well formed but unknown: the room's rule is read alongside the session lookup, fails, and the
			// answer is still the session's 401 (no unhandled rejection, which would fail this run).
			const unknown = await rawUpgrade(h, { path: room, cookie: `warroom_session=${'a'.repeat(24)}.${'b'.repeat(24)}` });
			expect('status' in unknown && unknown.status).toBe(401);
			expect(asked).toBe(1);
			const u = await user();
			const failed = await rawUpgrade(h, { path: room, cookie: u.cookie });
			expect('status' in failed && failed.status).toBe(500);
		});

		it('a user the access resolver turns away', async () => {
			const denied = new Set<string>();
			const h = await harness({
				accessResolver: async (_ctx, incidentId) => {
					const answer = denied.has(incidentId) ? 'none' : 'write';
					return () => answer;
				}
			});
			const room = randomUUID();
			denied.add(room);
			const u = await user('admin');
			const res = await rawUpgrade(h, { path: `/collab/${room}`, cookie: u.cookie });
			expect('status' in res && res.status).toBe(403);
		});

		it('a user whose access was taken away a moment after a granted upgrade (the decision is not reused across a change)', async () => {
			const denied = new Set<string>();
			let asked = 0;
			const h = await harness({
				accessResolver: async (_ctx, incidentId) => {
					asked++;
					// Decided when asked, like a real rule read from the database.
					const answer = denied.has(incidentId) ? 'none' : 'write';
					return () => answer;
				}
			});
			const room = randomUUID();
			const u = await user();
			const sockets: WebSocket[] = [];
			for (let i = 0; i < 3; i++) {
				const res = await rawUpgrade(h, { path: `/collab/${room}`, cookie: u.cookie });
				if (!('ws' in res)) throw new Error(`upgrade ${i} refused: ${res.status}`);
				sockets.push(res.ws);
			}
			// A reconnect storm asks once per room.
			expect(asked).toBe(1);
			denied.add(room);
			ctx.events.publish({ type: 'membership.changed', incidentId: room, userId: u.id });
			const res = await rawUpgrade(h, { path: `/collab/${room}`, cookie: u.cookie });
			expect('status' in res && res.status).toBe(403);
			expect(asked).toBeGreaterThanOrEqual(2);
			for (const ws of sockets) ws.terminate();
		});

		it('a storm of different users reads the room rule once and decides each user with their own facts', async () => {
			let asked = 0;
			const bob = await user();
			const h = await harness({
				accessResolver: async () => {
					asked++;
					return (u) => (u.id === bob.id ? 'none' : 'write');
				}
			});
			const room = randomUUID();
			const others = [await user(), await user('viewer'), await user()];
			const results = await Promise.all([bob, ...others].map((u) => rawUpgrade(h, { path: `/collab/${room}`, cookie: u.cookie })));
			expect(asked).toBe(1);
			expect('status' in results[0]! && results[0].status).toBe(403);
			for (const r of results.slice(1)) {
				if (!('ws' in r)) throw new Error(`a granted upgrade was refused: ${r.status}`);
				r.ws.terminate();
			}
		});

		it('a user without access: the document read while the rule was read is unloaded at once, and a known rule reads nothing', async () => {
			let gate!: () => void;
			let asked = 0;
			const h = await harness({
				accessResolver: async () => {
					asked++;
					await new Promise<void>((resolve) => (gate = resolve));
					return () => 'none';
				}
			});
			const room = randomUUID();
			// Something to read: a stored document the outsider must never see.
			const writer = await harness();
			await writer.server.port.appendSystemEntry(room, { kind: 'status', text: { 'zh-CN': '机密', en: 'secret' }, at: new Date() });
			await writer.close();
			const outsider = await user();
			const refused = rawUpgrade(h, { path: `/collab/${room}`, cookie: outsider.cookie });
			// The session is valid, the rule is still being read: the document loads meanwhile.
			await waitFor(() => h.server.rooms.loadedRoomNames().includes(room), 'the document to load while the rule is read');
			gate();
			const res = await refused;
			expect('status' in res && res.status).toBe(403);
			await waitFor(() => !h.server.rooms.loadedRoomNames().includes(room), 'the refused room to unload at once', 1000);
			// Refused again while the rule is known: decided without reading the document.
			const again = await rawUpgrade(h, { path: `/collab/${room}`, cookie: outsider.cookie });
			expect('status' in again && again.status).toBe(403);
			expect(asked).toBe(1);
			expect(h.server.rooms.loadedRoomNames()).not.toContain(room);
		});

		it('a storm into a room nobody has open loads the document while the rule is read, and keeps it for the granted', async () => {
			let gate!: () => void;
			const bob = await user();
			const h = await harness({
				accessResolver: async () => {
					await new Promise<void>((resolve) => (gate = resolve));
					return (u) => (u.id === bob.id ? 'none' : 'write');
				}
			});
			const room = randomUUID();
			const alice = await user();
			const pending = [bob, alice].map((u) => rawUpgrade(h, { path: `/collab/${room}`, cookie: u.cookie }));
			await waitFor(() => h.server.rooms.loadedRoomNames().includes(room), 'the document to load while the rule is read');
			gate();
			const [forBob, forAlice] = await Promise.all(pending);
			expect('status' in forBob! && forBob.status).toBe(403);
			if (!('ws' in forAlice!)) throw new Error(`alice was refused: ${forAlice!.status}`);
			await waitFor(() => h.server.connectionCount() === 1, "alice's socket");
			// Bob's refusal did not unload the room alice is in.
			await new Promise((r) => setTimeout(r, 50));
			expect(h.server.rooms.loadedRoomNames()).toContain(room);
			forAlice.ws.terminate();
		});

		it('an id that is not an incident id under the default rule', async () => {
			const h = await harness();
			const u = await user('admin');
			const res = await rawUpgrade(h, { path: '/collab/not-a-uuid', cookie: u.cookie });
			expect('status' in res && res.status).toBe(403);
		});

		it('a user over the connection limit', async () => {
			const h = await harness({ maxConnectionsPerUser: 2 });
			const u = await user();
			const room = randomUUID();
			const open = [
				await rawUpgrade(h, { path: `/collab/${room}`, cookie: u.cookie }),
				await rawUpgrade(h, { path: `/collab/${room}`, cookie: u.cookie })
			];
			const third = await rawUpgrade(h, { path: `/collab/${room}`, cookie: u.cookie });
			expect('status' in third && third.status).toBe(429);
			for (const o of open) if ('ws' in o) o.ws.close();
		});

		it('a malformed WebSocket handshake, without using up a connection slot', async () => {
			const h = await harness({ maxConnectionsPerUser: 1 });
			const u = await user();
			const path = `/collab/${randomUUID()}`;
			const status = await new Promise<number>((resolve, reject) => {
				const req = http.request({
					host: '127.0.0.1',
					port: h.port,
					path,
					headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', Origin: h.origin, Cookie: u.cookie }
				});
				req.on('response', (res) => resolve(res.statusCode ?? 0));
				req.on('error', reject);
				req.end();
			});
			expect(status).toBe(400); // no Sec-WebSocket-Key: ws refuses it
			await new Promise((r) => setTimeout(r, 50));
			const ok = await rawUpgrade(h, { path, cookie: u.cookie });
			expect('ws' in ok).toBe(true);
			if ('ws' in ok) ok.ws.close();
		});

		it('accepts an origin from the allowed list and the configured ORIGIN', async () => {
			const allowed = { ...ctx, config: { ...ctx.config, origin: 'https://warroom.example', allowedOrigins: ['https://ops.example'] } };
			const h = await harness({}, allowed);
			const u = await user();
			const path = `/collab/${randomUUID()}`;
			for (const origin of ['https://warroom.example', 'https://ops.example']) {
				const res = await rawUpgrade(h, { path, cookie: u.cookie, origin });
				expect('ws' in res).toBe(true);
				if ('ws' in res) res.ws.close();
			}
			// With ORIGIN set, the request's own host is no longer enough.
			const same = await rawUpgrade(h, { path, cookie: u.cookie });
			expect('status' in same && same.status).toBe(403);
		});
	});

	it('keeps everything across a restart of the server on the same database', async () => {
		const room = randomUUID();
		const alice = await user();
		const h1 = await startHarness(ctx);
		const a = connectProvider(h1, { room, cookie: alice.cookie, acks: true });
		await synced(a);
		entry(a.doc, 'before the restart');
		notesOf(a.doc).insert(0, 'bridge: 8800');
		await waitFor(() => a.acked() >= 2, 'both updates to be acknowledged');
		a.destroy();
		await h1.close();

		const h2 = await harness();
		const b = client(h2, { room, cookie: alice.cookie });
		await synced(b);
		expect(listEntries(b.doc).map((e) => e.text)).toEqual(['before the restart']);
		expect(notesOf(b.doc).toString()).toBe('bridge: 8800');
	});

	it('acknowledges an update only after it is committed', async () => {
		// Hold the result of every statement that appends to the log. It is one statement in its own
		// transaction (on PostgreSQL an insert with its NOTIFY, on PGlite the insert), so while it is held
		// the rows are committed and the server has not yet seen it: no ack may have gone out.
		let release!: () => void;
		let gate = new Promise<void>((r) => (release = r));
		let held = 0;
		const inserts = new WeakSet<object>();
		const gatePlugin: KyselyPlugin = {
			transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
				type Node = { kind: string; into?: { table?: { identifier?: { name?: string } } } };
				const root = args.node as Node & { with?: { expressions: { expression: Node }[] } };
				const appends = (n: Node) => n.kind === 'InsertQueryNode' && n.into?.table?.identifier?.name === 'collab_updates';
				if (appends(root) || root.with?.expressions.some((e) => appends(e.expression))) inserts.add(args.queryId);
				return args.node;
			},
			async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
				if (inserts.has(args.queryId)) {
					held++;
					await gate;
				}
				return args.result;
			}
		};
		const gated = { ...ctx, db: ctx.db.withPlugin(gatePlugin) };
		const h = await harness({}, gated);
		const room = randomUUID();
		const alice = await user();

		const { ws } = (await rawUpgrade(h, { path: `/collab/${room}?acks=1`, cookie: alice.cookie })) as { ws: import('ws').WebSocket };
		const acks: number[] = [];
		ws.on('message', (data: Buffer) => {
			const d = decoding.createDecoder(new Uint8Array(data));
			if (decoding.readVarUint(d) === MESSAGE_ACK) acks.push(decoding.readVarUint(d));
		});
		const local = new Y.Doc();
		local.on('update', (u: Uint8Array) => ws.send(encodeUpdate(u)));
		entry(local, 'must be durable before the ack');
		await waitFor(() => held === 1, 'the insert to run');
		await new Promise((r) => setTimeout(r, 100));
		expect(acks).toEqual([]);
		// Committed by then: another connection sees the row. (PGlite has one connection, which the held
		// query's caller is waiting on, so only PostgreSQL can look from the outside.)
		if (onPostgres) expect(await logRows(room)).toBe(1);

		release();
		gate = Promise.resolve();
		await waitFor(() => acks.length === 1, 'the ack');
		expect(acks).toEqual([1]);
		expect(listEntries(await committedDoc(room)).map((e) => e.text)).toEqual(['must be durable before the ack']);
		ws.close();
	});

	it('counts acks per update message, batching several into one commit', async () => {
		const h = await harness({ flushIntervalMs: 150 });
		const room = randomUUID();
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie, acks: true });
		await synced(a);
		await waitFor(() => a.acked() >= 1, 'the ack of the initial sync step 2');
		const base = a.acked();
		for (let i = 0; i < 5; i++) entry(a.doc, `entry ${i}`);
		await waitFor(() => a.acked() === base + 5, 'all five updates to be acknowledged');
		expect(await logRows(room)).toBe(1);
	});

	it('commits a change after a quiet spell at once, and one within the window at its end', async () => {
		const WINDOW = 600;
		const h = await harness({ flushIntervalMs: WINDOW });
		const room = randomUUID();
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie, acks: true });
		await synced(a);
		await waitFor(() => a.acked() >= 1, 'the ack of the initial sync step 2');
		// Quiet for longer than the window: the next change starts a commit at once.
		await new Promise((r) => setTimeout(r, WINDOW + 50));
		const base = a.acked();
		let t0 = performance.now();
		entry(a.doc, 'after a quiet spell');
		await waitFor(() => a.acked() === base + 1, 'the first ack');
		const first = performance.now() - t0;
		// Right after that commit started: this one waits for the rest of the window.
		t0 = performance.now();
		entry(a.doc, 'within the window');
		await waitFor(() => a.acked() === base + 2, 'the second ack');
		const second = performance.now() - t0;
		expect(first).toBeLessThan(WINDOW / 2);
		expect(second).toBeGreaterThanOrEqual(WINDOW / 2);
		expect(await logRows(room)).toBe(2);
	});

	it("merges an offline client's edits on reconnect without loss or duplication", async () => {
		const h = await harness();
		const room = randomUUID();
		const [alice, bob] = [await user(), await user()];
		const a = client(h, { room, cookie: alice.cookie });
		const b = client(h, { room, cookie: bob.cookie, acks: true });
		await Promise.all([synced(a), synced(b)]);
		entry(a.doc, 'online before', '2026-11-23T08:00:00Z');
		await waitFor(() => listEntries(b.doc).length === 1, 'bob to see it');

		b.provider.disconnect();
		entry(b.doc, 'bob offline 1', '2026-11-23T08:02:00Z');
		entry(b.doc, 'bob offline 2', '2026-11-23T08:03:00Z');
		entry(a.doc, 'alice meanwhile', '2026-11-23T08:01:00Z');
		await new Promise((r) => setTimeout(r, 100));
		expect(listEntries(a.doc).map((e) => e.text)).toEqual(['online before', 'alice meanwhile']);

		const acksBefore = b.ackLog.length;
		b.provider.connect();
		const expected = ['online before', 'alice meanwhile', 'bob offline 1', 'bob offline 2'];
		await waitFor(() => listEntries(a.doc).length === 4 && listEntries(b.doc).length === 4, 'both to converge');
		expect(listEntries(a.doc).map((e) => e.text)).toEqual(expected);
		expect(listEntries(b.doc).map((e) => e.text)).toEqual(expected);
		await waitFor(() => b.ackLog.length > acksBefore, 'the reconnect sync to be acknowledged');
		expect(listEntries(await committedDoc(room)).map((e) => e.text)).toEqual(expected);
	});

	it('closes the socket at once on logout', async () => {
		const h = await harness();
		const room = randomUUID();
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie });
		await synced(a);
		const t0 = Date.now();
		await invalidateSession(ctx, { id: alice.sessionId, user_id: alice.id });
		await waitFor(() => a.closes.length > 0, 'the socket to close', 1000);
		expect(Date.now() - t0).toBeLessThan(1000);
		expect(a.closes[0]!.code).toBe(4401);
		// The stock client treats 44xx as final and does not hammer the server with reconnects.
		await new Promise((r) => setTimeout(r, 300));
		expect(h.server.connectionCount()).toBe(0);
	});

	it('applies a role change to open sockets: a downgraded writer becomes read-only', async () => {
		const h = await harness();
		const room = randomUUID();
		const carol = await user('responder');
		const c = client(h, { room, cookie: carol.cookie });
		await synced(c);
		await ctx.db.updateTable('users').set({ global_role: 'viewer' }).where('id', '=', carol.id).execute();
		ctx.events.publish({ type: 'user.changed', userId: carol.id });
		await waitFor(() => c.closes.some((x) => x.code === 4000), 'the socket to be recycled');
		await synced(c);
		entry(c.doc, 'should be dropped now');
		await new Promise((r) => setTimeout(r, 150));
		await h.server.rooms.flushNow();
		expect(await h.server.port.read(room, (d) => listEntries(d).length)).toBe(0);
	});

	it('holds what a socket sends while its access is re-checked, then handles it under the decision', async () => {
		let answer: 'write' | 'read' = 'write';
		let gate: Promise<void> = Promise.resolve();
		const h = await harness({
			accessResolver: async () => {
				await gate;
				const decided = answer;
				return () => decided;
			}
		});
		const room = randomUUID();
		const dave = await user();
		const peer = (await rawUpgrade(h, { path: `/collab/${room}`, cookie: dave.cookie })) as { ws: WebSocket };
		const texts = () => h.server.port.read(room, (d) => listEntries(d).map((e) => e.text));
		const write = (text: string, at: string) => {
			const d = new Y.Doc();
			entry(d, text, at);
			peer.ws.send(encodeUpdate(Y.encodeStateAsUpdate(d)));
		};
		write('before any change', '2026-11-23T08:00:00Z');
		await waitFor(async () => (await texts()).length === 1, 'the first write to land');
		const recheckHeld = () => {
			let open!: () => void;
			gate = new Promise<void>((r) => (open = r));
			return () => open();
		};

		// A change that leaves the access as it was: the write waits for the re-check, then lands.
		let release = recheckHeld();
		ctx.events.publish({ type: 'user.changed', userId: dave.id });
		write('sent during a re-check that keeps write', '2026-11-23T08:01:00Z');
		await new Promise((r) => setTimeout(r, 100));
		expect(await texts()).toEqual(['before any change']);
		release();
		await waitFor(async () => (await texts()).length === 2, 'the held write to land after the re-check');

		// A demotion: the write sent right after it never lands, and the socket is recycled.
		release = recheckHeld();
		answer = 'read';
		ctx.events.publish({ type: 'user.changed', userId: dave.id });
		write('sent right after the demotion', '2026-11-23T08:02:00Z');
		await new Promise((r) => setTimeout(r, 100));
		release();
		expect((await closed(peer.ws)).code).toBe(4000);
		await h.server.rooms.flushNow();
		expect(await texts()).toEqual(['before any change', 'sent during a re-check that keeps write']);
		expect(listEntries(await committedDoc(room)).map((e) => e.text)).toEqual([
			'before any change',
			'sent during a re-check that keeps write'
		]);
	});

	it('closes a socket that keeps sending while its access is re-checked (over 8 MiB waiting), and nothing of it lands', async () => {
		let open!: () => void;
		let gate: Promise<void> = Promise.resolve();
		const h = await harness({
			accessResolver: async () => {
				await gate;
				return () => 'write';
			}
		});
		const room = randomUUID();
		const erin = await user();
		const peer = (await rawUpgrade(h, { path: `/collab/${room}`, cookie: erin.cookie })) as { ws: WebSocket };
		await h.server.port.read(room, () => undefined);
		gate = new Promise<void>((r) => (open = r));
		ctx.events.publish({ type: 'user.changed', userId: erin.id });
		// Nine frames just under the 1 MiB frame limit: each is allowed, together they are too much to hold.
		const frame = new Uint8Array(1024 * 1024 - 64);
		for (let i = 0; i < 9; i++) peer.ws.send(frame);
		const result = await closed(peer.ws);
		open();
		expect(result.code).toBe(1008);
		expect(result.reason).toMatch(/too much sent while waiting for the room or an access check/);
		expect(await h.server.port.read(room, (d) => listEntries(d).length)).toBe(0);
	});

	it('closes only the socket that sends a bad frame, with a reason', async () => {
		const h = await harness();
		const room = randomUUID();
		const [alice, bob] = [await user(), await user()];
		const a = client(h, { room, cookie: alice.cookie });
		await synced(a);
		const bad = (await rawUpgrade(h, { path: `/collab/${room}`, cookie: bob.cookie })) as { ws: import('ws').WebSocket };
		const e = encoding.createEncoder();
		encoding.writeVarUint(e, 0);
		encoding.writeVarUint(e, 2);
		encoding.writeVarUint8Array(e, new Uint8Array([255, 255, 255, 7, 1, 2, 3]));
		bad.ws.send(encoding.toUint8Array(e));
		const result = await closed(bad.ws);
		expect(result.code).toBe(1007);
		expect(result.reason).toMatch(/malformed/);

		const unknown = (await rawUpgrade(h, { path: `/collab/${room}`, cookie: bob.cookie })) as { ws: import('ws').WebSocket };
		unknown.ws.send(new Uint8Array([42]));
		expect((await closed(unknown.ws)).code).toBe(1007);

		// Alice is unaffected and the room still works.
		entry(a.doc, 'still here');
		await waitFor(async () => (await h.server.port.read(room, (d) => listEntries(d).length)) === 1, 'alice to keep writing');
		expect(a.closes).toEqual([]);
	});

	it('closes a socket that sends a frame over the size limit with 1009', async () => {
		const h = await harness({ maxMessageBytes: 4096 });
		const u = await user();
		const { ws } = (await rawUpgrade(h, { path: `/collab/${randomUUID()}`, cookie: u.cookie })) as { ws: import('ws').WebSocket };
		ws.send(new Uint8Array(8192));
		expect((await closed(ws)).code).toBe(1009);
	});

	it('closes a socket that piles up updates whose dependencies never arrive', async () => {
		const h = await harness({ maxPendingBytes: 2048 });
		const room = randomUUID();
		const u = await user();
		const { ws } = (await rawUpgrade(h, { path: `/collab/${room}`, cookie: u.cookie })) as { ws: import('ws').WebSocket };
		// Build updates that all depend on a first one we never send: the server must hold them as pending.
		const local = new Y.Doc();
		notesOf(local).insert(0, 'root');
		const withheld = Y.encodeStateVector(local);
		for (let i = 0; i < 20; i++) notesOf(local).insert(0, 'x'.repeat(200));
		ws.send(encodeUpdate(Y.encodeStateAsUpdate(local, withheld)));
		const result = await closed(ws);
		expect(result.code).toBe(1008);
		// The room is still usable and holds nothing from the dropped updates.
		expect(await h.server.port.read(room, (d) => notesOf(d).toString())).toBe('');
	});

	it('closes every socket of a user whose sessions all end (e.g. disabled by an admin)', async () => {
		const h = await harness();
		const room = randomUUID();
		const u = await makeUser(ctx, { role: 'responder' });
		const [s1, s2] = [await sessionCookie(ctx, u.id), await sessionCookie(ctx, u.id)];
		const a = client(h, { room, cookie: s1.cookie });
		const b = client(h, { room, cookie: s2.cookie });
		await Promise.all([synced(a), synced(b)]);
		ctx.events.publish({ type: 'sessions.ended', userId: u.id, sessionIds: 'all' });
		await waitFor(() => a.closes.length > 0 && b.closes.length > 0, 'both sockets to close', 1000);
		expect([a.closes[0]!.code, b.closes[0]!.code]).toEqual([4401, 4401]);
	});

	it('stamps presence with the authenticated user: a client cannot pose as someone else', async () => {
		const h = await harness();
		const room = randomUUID();
		const mallory = await user('responder', 'Mallory');
		const alice = await user('responder', 'Alice');
		const m = client(h, { room, cookie: mallory.cookie });
		const a = client(h, { room, cookie: alice.cookie });
		await Promise.all([synced(m), synced(a)]);
		m.provider.awareness.setLocalStateField('user', { id: alice.id, name: 'Alice' });
		m.provider.awareness.setLocalStateField('typing', true);
		await waitFor(() => a.provider.awareness.getStates().has(m.doc.clientID), 'alice to see mallory');
		const seen = a.provider.awareness.getStates().get(m.doc.clientID) as { user: { id: string; name: string }; typing: boolean };
		expect(seen.user).toEqual({ id: mallory.id, name: 'Mallory' });
		expect(seen.typing).toBe(true);
	});

	it('frees a presence id when its socket closes: a tab that reconnects speaks for its id again, nobody else can meanwhile', async () => {
		const h = await harness();
		const room = randomUUID();
		const alice = await user('responder', 'Alice');
		const bob = await user('responder', 'Bob');
		const a = client(h, { room, cookie: alice.cookie });
		const b = client(h, { room, cookie: bob.cookie });
		await Promise.all([synced(a), synced(b)]);
		const stateOf = (id: number) => b.provider.awareness.getStates().get(id) as { user: { id: string }; status?: string } | undefined;
		a.provider.awareness.setLocalStateField('status', 'first visit');
		await waitFor(() => stateOf(a.doc.clientID)?.status === 'first visit', 'bob to see alice');

		// While alice's socket is open, her id is hers: bob cannot speak for it.
		b.provider.ws!.send(
			encodeAwareness(encodeAwarenessUpdate([{ clientId: a.doc.clientID, clock: 1_000, state: { status: 'posed by bob' } }]))
		);
		a.provider.awareness.setLocalStateField('status', 'still alice');
		await waitFor(() => stateOf(a.doc.clientID)?.status === 'still alice', 'bob to see alice again');
		expect(stateOf(a.doc.clientID)!.user.id).toBe(alice.id);

		// Her tab drops and reconnects with the same Y.Doc (the same client id): it is hers again.
		a.provider.disconnect();
		await waitFor(() => h.server.connectionCount() === 1, "the server to close alice's socket");
		await waitFor(() => !b.provider.awareness.getStates().has(a.doc.clientID), "alice's presence to go");
		a.provider.connect();
		await synced(a);
		a.provider.awareness.setLocalStateField('status', 'back');
		await waitFor(() => stateOf(a.doc.clientID)?.status === 'back', 'bob to see alice back');
		expect(stateOf(a.doc.clientID)!.user.id).toBe(alice.id);
	});

	it('shares a sync step 1 answer among peers with one state vector, and never past a change', async () => {
		const h = await harness();
		const room = randomUUID();
		await h.server.port.transact(room, (d) => entry(d, 'declared', '2026-11-23T08:00:00Z'));
		const r = await h.server.rooms.acquire(room);
		try {
			const empty = new Uint8Array([0]);
			const fresh = (sv: Uint8Array) => Y.encodeStateAsUpdate(r.doc, sv);
			const first = r.syncStep2For(empty);
			expect(r.syncStep2For(empty)).toBe(first); // shared, not encoded again
			const sv = Y.encodeStateVector(r.doc);
			expect(Buffer.from(syncPayload(r.syncStep2For(sv), SYNC_STEP_2))).toEqual(Buffer.from(fresh(sv)));
			const ours = r.syncStep1();
			expect(r.syncStep1()).toBe(ours);
			expect(Buffer.from(syncPayload(ours, SYNC_STEP_1))).toEqual(Buffer.from(sv));

			// A service writes: the next peer with an empty state vector gets the new entry too, and our
			// state vector moves on.
			await h.server.port.transact(room, (d) => entry(d, 'mitigated', '2026-11-23T08:05:00Z'));
			const after = r.syncStep2For(empty);
			expect(after).not.toBe(first);
			const seen = new Y.Doc();
			Y.applyUpdate(seen, syncPayload(after, SYNC_STEP_2));
			expect(listEntries(seen).map((e) => e.text)).toEqual(['declared', 'mitigated']);
			expect(Buffer.from(syncPayload(r.syncStep1(), SYNC_STEP_1))).toEqual(Buffer.from(Y.encodeStateVector(r.doc)));

			// A client's update that waits for its dependencies is part of every answer from then on.
			const dependent = waitingUpdate(r.doc, 'depends on an entry never sent', '2026-11-23T08:07:00Z');
			const before = r.syncStep2For(empty);
			h.server.rooms.applyClientUpdate(r, SILENT_PEER, dependent);
			expect(r.doc.store.pendingStructs).not.toBeNull();
			const withPending = r.syncStep2For(empty);
			expect(withPending).not.toBe(before);
			expect(Buffer.from(syncPayload(withPending, SYNC_STEP_2))).toEqual(Buffer.from(fresh(empty)));
		} finally {
			h.server.rooms.release(r);
		}
	});

	it('answers and ignores the repeated delete sets of a reconnect storm without waking a sleeping room', async () => {
		const h = await harness({ flushIntervalMs: 5 });
		const room = randomUUID();
		await h.server.port.transact(room, (d) => {
			for (let i = 0; i < 5; i++) entry(d, `entry ${i}`, `2026-11-23T08:0${i}:00Z`);
		});
		await h.server.port.transact(room, (d) => notesOf(d).insert(0, 'what we know so far, typed and retyped'));
		await h.server.port.transact(room, (d) => notesOf(d).delete(0, 5));
		const r = await h.server.rooms.acquire(room);
		try {
			// A client that holds everything (it was here before the blip).
			const held = new Y.Doc();
			Y.applyUpdate(held, Y.encodeStateAsUpdate(r.doc));
			const sv = Y.encodeStateVector(held);
			const itsStep2 = Y.encodeStateAsUpdate(held, Y.encodeStateVector(r.doc)); // no structs, its delete set
			expect(itsStep2.byteLength).toBeGreaterThan(2);

			// Decoded once, the client's delete set changes nothing, and the same bytes are known from then on.
			const version = r.version;
			h.server.rooms.applyClientUpdate(r, SILENT_PEER, itsStep2);
			expect(r.version).toBe(version);
			expect(r.changesNothing(itsStep2)).toBe(true);
			r.forgetNoops();

			await h.server.rooms.flushNow();
			h.server.rooms.hibernateIdle(Date.now() + 60_000);
			expect(r.hibernating).toBe(true);
			// Asleep, the room answers from its stored bytes: a diff for a peer that holds something …
			const answer = syncPayload(r.syncStep2For(sv), SYNC_STEP_2);
			expect(r.hibernating).toBe(true);
			const check = new Y.Doc();
			Y.applyUpdate(check, Y.encodeStateAsUpdate(held));
			Y.applyUpdate(check, answer);
			expect(notesOf(check).toString()).toBe('what we know so far, typed and retyped'.slice(5));
			expect(Y.decodeUpdate(answer).structs).toHaveLength(0);
			// … and that answer to a peer in step with it is the very delete set such a peer sends back,
			// which is then not decoded: the room stays asleep through the whole reconnect.
			expect(Buffer.from(answer)).toEqual(Buffer.from(itsStep2));
			expect(r.changesNothing(itsStep2)).toBe(true);
			h.server.rooms.applyClientUpdate(r, SILENT_PEER, itsStep2.slice());
			expect(r.hibernating).toBe(true);

			// An update that changes something is never taken for one that did not.
			const later = new Y.Doc();
			Y.applyUpdate(later, Y.encodeStateAsUpdate(held));
			notesOf(later).delete(0, 3);
			const deletion = Y.encodeStateAsUpdate(later, Y.encodeStateVector(held));
			expect(r.changesNothing(deletion)).toBe(false);
			h.server.rooms.applyClientUpdate(r, SILENT_PEER, deletion);
			expect(notesOf(r.doc).toString()).toBe(notesOf(later).toString());
			expect(r.changesNothing(deletion)).toBe(false);
			// One that leaves something waiting for its dependencies is not remembered either.
			const dependent = waitingUpdate(later, 'depends on it', '2026-11-23T09:01:00Z');
			h.server.rooms.applyClientUpdate(r, SILENT_PEER, dependent);
			expect(r.doc.store.pendingStructs).not.toBeNull();
			expect(r.changesNothing(dependent)).toBe(false);
			// Dropping what waits (a flooder's updates) forgets what was known to change nothing.
			h.server.rooms.clearPending(r);
			expect(r.changesNothing(itsStep2)).toBe(false);
		} finally {
			h.server.rooms.release(r);
		}
	});

	it("does not take a stored state's waiting structs for nothing new when it answers from them asleep", async () => {
		// A snapshot holding a struct that waits for its dependencies (a compaction keeps what waits).
		const base = new Y.Doc();
		entry(base, 'declared', '2026-11-23T08:00:00Z');
		const stored = new Y.Doc();
		Y.applyUpdate(stored, Y.encodeStateAsUpdate(base));
		Y.applyUpdate(stored, waitingUpdate(base, 'waits for it', '2026-11-23T08:02:00Z'));
		expect(stored.store.pendingStructs).not.toBeNull();
		const room = randomUUID();
		await collabRepo.upsertSnapshot(ctx.db, { doc: room, state: Y.encodeStateAsUpdate(stored), uptoId: '0', at: new Date() });
		const h = await harness();
		const r = await h.server.rooms.acquire(room);
		try {
			expect(r.hibernating).toBe(true);
			// A peer in step with what was integrated: its state vector stops at the gap, like ours.
			const sv = Y.encodeStateVector(base);
			const answer = syncPayload(r.syncStep2For(sv), SYNC_STEP_2);
			expect(r.hibernating).toBe(true);
			expect(Y.decodeUpdate(answer).structs.length).toBeGreaterThan(0); // the waiting struct
			expect(r.changesNothing(answer)).toBe(false);
		} finally {
			h.server.rooms.release(r);
		}
	});

	it('compacts a long log into a snapshot so loading reads a short log', async () => {
		const h = await harness({ compactAfterRows: 10, flushIntervalMs: 5 });
		const room = randomUUID();
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie, acks: true });
		await synced(a);
		await writeAcked(a, 35);
		// Compactions run beside the commits (they never hold one back): the one after row 30 may still run.
		await waitFor(async () => (await logRows(room)) < 10, 'the log to be folded to under 10 rows');
		const snap = await ctx.db.selectFrom('collab_snapshots').select(['upto_id']).where('doc', '=', room).executeTakeFirst();
		expect(snap).toBeDefined();
		expect(listEntries(await committedDoc(room))).toHaveLength(35);

		// A fresh process loads it from the snapshot and the short log.
		a.destroy();
		await h.close();
		const h2 = await harness();
		const b = client(h2, { room, cookie: alice.cookie });
		await synced(b);
		expect(listEntries(b.doc).map((e) => e.text)).toEqual(Array.from({ length: 35 }, (_, i) => `entry ${i}`));
	});

	it('compacts once the rows past the snapshot hold compactAfterBytes, however few they are', async () => {
		const h = await harness({ compactAfterRows: 1000, compactAfterBytes: 8 * 1024, flushIntervalMs: 5 });
		const room = randomUUID();
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie, acks: true });
		await synced(a);
		// Six pasted log excerpts of 2 KiB each, one row each: 12 KiB of rows, far from 1,000 rows.
		const excerpt = (i: number) => `${i}: ORA-12541 TNS:no listener at core-db-0${i}; `.padEnd(2048, '.');
		for (let i = 0; i < 6; i++) {
			const before = a.acked();
			entry(a.doc, excerpt(i), new Date(Date.UTC(2026, 10, 23, 8, i)).toISOString());
			await waitFor(() => a.acked() > before, `ack ${i}`);
		}
		await waitFor(
			async () => !!(await ctx.db.selectFrom('collab_snapshots').select('doc').where('doc', '=', room).executeTakeFirst()),
			'a snapshot after 8 KiB of rows'
		);
		expect(await logRows(room)).toBeLessThan(6);
		expect(listEntries(await committedDoc(room)).map((e) => e.text)).toEqual(Array.from({ length: 6 }, (_, i) => excerpt(i)));
	});

	it('does not count updates waiting for their dependencies toward compactAfterBytes (folding them gains nothing)', async () => {
		const h = await harness({ compactAfterRows: 1000, compactAfterBytes: 8 * 1024, flushIntervalMs: 5 });
		const room = randomUUID();
		const r = await h.server.rooms.acquire(room);
		try {
			for (let i = 0; i < 4; i++) {
				// Each depends on an entry the server never receives: 4 × 4 KiB waiting, stored in the log.
				const gap = new Y.Doc();
				entry(gap, `never sent ${i}`, '2026-11-23T08:00:00Z');
				const sent = Y.encodeStateVector(gap);
				notesOf(gap).insert(notesOf(gap).length, `orphan ${i} `.padEnd(4096, '~'));
				h.server.rooms.applyClientUpdate(r, SILENT_PEER, Y.encodeStateAsUpdate(gap, sent));
			}
			await h.server.rooms.flushNow();
			const stored = await ctx.db.selectFrom('collab_updates').select('update').where('doc', '=', room).execute();
			expect(stored.reduce((n, row) => n + row.update.byteLength, 0)).toBeGreaterThan(16 * 1024);
			await new Promise((res) => setTimeout(res, 100));
			const snap = await ctx.db.selectFrom('collab_snapshots').select('doc').where('doc', '=', room).executeTakeFirst();
			expect(snap).toBeUndefined();
		} finally {
			h.server.rooms.release(r);
		}
	});

	it('folds a log of a few large rows right after loading it (compactAfterBytes)', async () => {
		const room = randomUUID();
		const writer = new Y.Doc();
		const rows: { doc: string; update: Uint8Array; node_id: string }[] = [];
		writer.on('update', (u: Uint8Array) => rows.push({ doc: room, update: u, node_id: 'killed-node' }));
		for (let i = 0; i < 4; i++) entry(writer, `dump ${i} `.padEnd(4096, '#'), new Date(Date.UTC(2026, 10, 23, 8, i)).toISOString());
		await ctx.db.insertInto('collab_updates').values(rows).execute();
		expect(await logRows(room)).toBe(4);

		const h = await harness({ compactAfterRows: 1000, compactAfterBytes: 8 * 1024 });
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie });
		await synced(a);
		expect(listEntries(a.doc)).toHaveLength(4);
		await waitFor(async () => (await logRows(room)) === 0, 'the log to be folded');
	});

	it('folds a long log (left by a process killed before it compacted) right after loading it', async () => {
		const room = randomUUID();
		// 40 rows written by "another process" that never compacted: one entry per row.
		const writer = new Y.Doc();
		const rows: { doc: string; update: Uint8Array; node_id: string }[] = [];
		writer.on('update', (u: Uint8Array) => rows.push({ doc: room, update: u, node_id: 'killed-node' }));
		for (let i = 0; i < 40; i++) entry(writer, `row ${i}`, new Date(Date.UTC(2026, 10, 23, 8, i)).toISOString());
		await ctx.db.insertInto('collab_updates').values(rows).execute();
		expect(await logRows(room)).toBe(40);

		const h = await harness({ compactAfterRows: 25 });
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie });
		await synced(a);
		expect(listEntries(a.doc)).toHaveLength(40);
		// Nobody writes: the load itself triggers the compaction.
		await waitFor(async () => (await logRows(room)) === 0, 'the log to be folded');
		const snap = await ctx.db.selectFrom('collab_snapshots').select('state').where('doc', '=', room).executeTakeFirstOrThrow();
		const fromSnapshot = new Y.Doc();
		Y.applyUpdate(fromSnapshot, snap.state);
		expect(listEntries(fromSnapshot).map((e) => e.text)).toEqual(Array.from({ length: 40 }, (_, i) => `row ${i}`));
	});

	/** A snapshot holding `a`, log rows `b` and `c`, and the fold a load of that computes (as RoomManager.load does). */
	async function storedWithFold(room: string): Promise<{ writer: Y.Doc; fold: Fold }> {
		const writer = new Y.Doc();
		entry(writer, 'a', '2026-11-23T08:00:00Z');
		await collabRepo.upsertSnapshot(ctx.db, { doc: room, state: Y.encodeStateAsUpdate(writer), uptoId: '0', at: new Date() });
		for (const [text, at] of [
			['b', '2026-11-23T08:01:00Z'],
			['c', '2026-11-23T08:02:00Z']
		] as const) {
			const before = Y.encodeStateVector(writer);
			entry(writer, text, at);
			await collabRepo.append(ctx.db, [{ doc: room, update: Y.encodeStateAsUpdate(writer, before), nodeId: 'other-node' }]);
		}
		const { snapshot, rows } = await collabRepo.readDocument(ctx.db, room);
		const loaded = new Y.Doc();
		Y.applyUpdate(loaded, snapshot!.state);
		for (const row of rows) Y.applyUpdate(loaded, row.update);
		const md5 = createHash('md5').update(snapshot!.state).digest('hex');
		return {
			writer,
			fold: { state: Y.encodeStateAsUpdate(loaded), base: { uptoId: snapshot!.uptoId, md5 }, rowIds: rows.map((r) => r.id) }
		};
	}

	async function appendEntry(room: string, writer: Y.Doc, text: string, at: string): Promise<void> {
		const before = Y.encodeStateVector(writer);
		entry(writer, text, at);
		await collabRepo.append(ctx.db, [{ doc: room, update: Y.encodeStateAsUpdate(writer, before), nodeId: 'other-node' }]);
	}

	it("folds the log a load read from the load's own encoding, keeping rows committed after that load", async () => {
		const room = randomUUID();
		const { writer, fold } = await storedWithFold(room);
		// Another process commits `d` after the load read the log: it is not in the fold and must stay.
		await appendEntry(room, writer, 'd', '2026-11-23T08:03:00Z');
		const h = await harness({ compactAfterRows: 1000 });
		expect(await h.server.rooms.compact(room, fold)).toMatchObject({ folded: 2, bytes: fold.state.byteLength, fromFold: true });
		const snap = await collabRepo.findSnapshot(ctx.db, room);
		expect(Buffer.from(snap!.state).equals(Buffer.from(fold.state))).toBe(true);
		expect(await logRows(room)).toBe(1);
		expect(listEntries(await committedDoc(room)).map((e) => e.text)).toEqual(['a', 'b', 'c', 'd']);
	});

	it('folds what is stored instead when another compaction replaced the snapshot after the load', async () => {
		const room = randomUUID();
		const { writer, fold } = await storedWithFold(room);
		await appendEntry(room, writer, 'd', '2026-11-23T08:03:00Z');
		const h = await harness({ compactAfterRows: 1000 });
		// Another process folds a, b, c and d meanwhile; then `e` is committed.
		expect((await h.server.rooms.compact(room)).folded).toBe(3);
		await appendEntry(room, writer, 'e', '2026-11-23T08:04:00Z');
		// The load's fold (a, b, c) would drop d: the stored snapshot is not the one it started from.
		expect(await h.server.rooms.compact(room, fold)).toMatchObject({ folded: 1, fromFold: false });
		expect(await logRows(room)).toBe(0);
		expect(listEntries(await committedDoc(room)).map((e) => e.text)).toEqual(['a', 'b', 'c', 'd', 'e']);
	});

	const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 8, minute)).toISOString();
	const textsOf = (doc: Y.Doc) => listEntries(doc).map((e) => e.text);

	it('compacts a live room by storing its own document (no decode), deleting only the rows it holds', async () => {
		const h = await harness({ compactAfterRows: 3, flushIntervalMs: 5 });
		const room = randomUUID();
		for (let i = 0; i < 3; i++) await h.server.port.transact(room, (d) => entry(d, `live ${i}`, at(i)));
		await waitFor(() => h.server.rooms.counters.compactions === 1, 'a compaction');
		expect(h.server.rooms.counters.compactionsDecoded).toBe(0);
		expect(await logRows(room)).toBe(0);
		// The snapshot is the room's document, byte for byte.
		const stored = (await collabRepo.findSnapshot(ctx.db, room))!.state;
		const live = await h.server.port.read(room, (d) => Y.encodeStateAsUpdate(d));
		expect(Buffer.from(stored).equals(Buffer.from(live))).toBe(true);

		// A row the room never saw (no notification: written straight to the log) is not the room's to delete.
		await appendEntry(room, new Y.Doc(), 'written elsewhere', at(3));
		for (let i = 3; i < 6; i++) await h.server.port.transact(room, (d) => entry(d, `live ${i}`, at(i + 1)));
		await waitFor(() => h.server.rooms.counters.compactions === 2, 'a second compaction');
		expect(h.server.rooms.counters.compactionsDecoded).toBe(0);
		// On PostgreSQL nothing notified the room of it either (append, not appendAndNotify).
		expect(await logRows(room)).toBe(1);
		await h.close();
		expect(textsOf(await committedDoc(room))).toEqual(['live 0', 'live 1', 'live 2', 'written elsewhere', 'live 3', 'live 4', 'live 5']);
	});

	it('compacts a sleeping room from its stored state when it unloads, without waking it', async () => {
		const h = await harness({ compactAfterRows: 1000, flushIntervalMs: 5, hibernateAfterMs: 40, roomIdleMs: 300 });
		const room = randomUUID();
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie, acks: true });
		await synced(a);
		await writeAcked(a, 4);
		a.destroy();
		await waitFor(() => h.server.rooms.hibernatingCount() === 1, 'the room to hibernate');
		await waitFor(() => !h.server.rooms.loadedRoomNames().includes(room), 'the room to unload');
		expect(h.server.rooms.counters).toMatchObject({ compactions: 1, compactionsDecoded: 0 });
		expect(await logRows(room)).toBe(0);
		expect(textsOf(await committedDoc(room))).toEqual(Array.from({ length: 4 }, (_, i) => `entry ${i}`));
	});

	it('catches the room up with the stored log once another process replaced the snapshot it was built on, losing nothing', async () => {
		const h = await harness({ compactAfterRows: 3, flushIntervalMs: 5 });
		const other = await harness({ compactAfterRows: 1000 });
		const room = randomUUID();
		await h.server.port.transact(room, (d) => entry(d, 'first', at(0)));
		// Another process commits a row this room never fetches, and folds the log: the room's document
		// (built on no snapshot) lacks what the new snapshot holds.
		await appendEntry(room, new Y.Doc(), 'elsewhere', at(1));
		expect((await other.server.rooms.compact(room)).folded).toBe(2);
		await h.server.port.transact(room, (d) => entry(d, 'second', at(2)));
		await h.server.port.transact(room, (d) => entry(d, 'third', at(3)));
		await waitFor(() => h.server.rooms.counters.compactions === 1, 'a compaction');
		expect(h.server.rooms.counters.compactionsDecoded).toBe(1);
		expect(await logRows(room)).toBe(0);
		// The stored document was applied to the room's own, which now holds what it never fetched, and
		// its encoding is the snapshot: the next compaction folds the room's document again.
		expect(await h.server.port.read(room, textsOf)).toEqual(['first', 'elsewhere', 'second', 'third']);
		const stored = (await collabRepo.findSnapshot(ctx.db, room))!.state;
		for (let i = 4; i < 7; i++) await h.server.port.transact(room, (d) => entry(d, `more ${i}`, at(i)));
		await waitFor(() => h.server.rooms.counters.compactions === 2, 'a second compaction');
		expect(h.server.rooms.counters.compactionsDecoded).toBe(1);
		expect(Buffer.from((await collabRepo.findSnapshot(ctx.db, room))!.state).equals(Buffer.from(stored))).toBe(false);
		await h.close();
		expect(textsOf(await committedDoc(room))).toEqual(['first', 'elsewhere', 'second', 'third', 'more 4', 'more 5', 'more 6']);
	});

	it('decodes the stored log into a fresh document for a sleeping room when it unloads, losing nothing', async () => {
		const h = await harness({ compactAfterRows: 1000, flushIntervalMs: 5, hibernateAfterMs: 40, roomIdleMs: 300 });
		const other = await harness({ compactAfterRows: 1000 });
		const room = randomUUID();
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie, acks: true });
		await synced(a);
		await writeAcked(a, 2);
		// Another process folds the log under the room: the room's base is not the stored snapshot any more.
		await appendEntry(room, new Y.Doc(), 'elsewhere', at(30));
		expect((await other.server.rooms.compact(room)).folded).toBe(3);
		const before = a.acked();
		entry(a.doc, 'after', at(31));
		await waitFor(() => a.acked() > before, 'the last ack');
		a.destroy();
		await waitFor(() => h.server.rooms.hibernatingCount() === 1, 'the room to hibernate');
		await waitFor(() => !h.server.rooms.loadedRoomNames().includes(room), 'the room to unload');
		expect(h.server.rooms.counters).toMatchObject({ compactions: 1, compactionsDecoded: 1 });
		expect(await logRows(room)).toBe(0);
		expect(textsOf(await committedDoc(room))).toEqual(['entry 0', 'entry 1', 'elsewhere', 'after']);
	});

	it('decodes the stored log after the room dropped updates waiting for their dependencies (the log keeps them)', async () => {
		const h = await harness({ compactAfterRows: 3, flushIntervalMs: 5 });
		const room = randomUUID();
		const r = await h.server.rooms.acquire(room);
		try {
			const base = new Y.Doc();
			entry(base, 'declared', at(0));
			h.server.rooms.applyClientUpdate(r, SILENT_PEER, Y.encodeStateAsUpdate(base));
			h.server.rooms.applyClientUpdate(r, SILENT_PEER, waitingUpdate(base, 'waits for it', at(2)));
			await h.server.rooms.flushNow();
			h.server.rooms.clearPending(r);
			// A catch-up (after a lost LISTEN connection) applies every row again, but a row of what was
			// dropped may still be committing: the room still does not know what it holds.
			await (h.server.rooms as unknown as { catchUp(room: typeof r): Promise<void> }).catchUp(r);
			await h.server.port.transact(room, (d) => entry(d, 'after', at(3)));
			await h.server.port.transact(room, (d) => entry(d, 'later', at(4)));
			await waitFor(() => h.server.rooms.counters.compactions === 1, 'a compaction');
			expect(h.server.rooms.counters.compactionsDecoded).toBe(1);
			// What waited is in the snapshot still, waiting: its dependency may yet arrive.
			const stored = new Y.Doc();
			Y.applyUpdate(stored, (await collabRepo.findSnapshot(ctx.db, room))!.state);
			expect(stored.store.pendingStructs).not.toBeNull();
			expect(textsOf(stored)).toEqual(['declared', 'after', 'later']);
		} finally {
			h.server.rooms.release(r);
		}
	});

	it('pings every socket once per interval, a slice at a time, and drops one that stops answering', async () => {
		const h = await harness({ pingIntervalMs: 1000 });
		const alice = await user();
		const path = `/collab/${randomUUID()}`;
		const open = async (autoPong: boolean) => {
			const r = await rawUpgrade(h, { path, cookie: alice.cookie, autoPong });
			if (!('ws' in r)) throw new Error(`refused: ${r.status} ${r.body}`);
			return r.ws;
		};
		const answering = await Promise.all(Array.from({ length: 10 }, () => open(true)));
		const silent = await open(false);
		const firstPing = new Map<WebSocket, number>();
		for (const ws of answering) ws.on('ping', () => firstPing.has(ws) || firstPing.set(ws, performance.now()));
		const gone = closed(silent);
		await waitFor(() => firstPing.size === answering.length, 'every socket to be pinged', 3000);
		// Ten consecutive connections fall in all ten slices: their pings are spread over the interval,
		// not sent in one burst.
		const at = [...firstPing.values()];
		expect(Math.max(...at) - Math.min(...at)).toBeGreaterThan(300);
		// The silent one was pinged and never answered: it is dropped at its next turn.
		expect((await gone).code).toBe(1006);
		for (const ws of answering) expect(ws.readyState).toBe(ws.OPEN);
		for (const ws of answering) ws.close();
	});

	it('leaves a single snapshot behind when an idle room unloads', async () => {
		const h = await harness({ roomIdleMs: 50, compactAfterRows: 1000, flushIntervalMs: 5 });
		const room = randomUUID();
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie, acks: true });
		await synced(a);
		await writeAcked(a, 5);
		expect(await logRows(room)).toBeGreaterThanOrEqual(5);
		a.destroy();
		await waitFor(() => !h.server.rooms.loadedRoomNames().includes(room), 'the room to unload');
		expect(await logRows(room)).toBe(0);
		expect(listEntries(await committedDoc(room)).map((e) => e.text)).toEqual(Array.from({ length: 5 }, (_, i) => `entry ${i}`));
	});

	it('never loses a row that commits with a lower id than a snapshot (a slow writer in another process)', async () => {
		const h = await harness({ compactAfterRows: 3, flushIntervalMs: 5 });
		const room = randomUUID();
		for (let i = 0; i < 4; i++) await h.server.port.transact(room, (d) => entry(d, `fast ${i}`, `2026-11-23T08:0${i}:00Z`));
		await waitFor(
			async () => !!(await ctx.db.selectFrom('collab_snapshots').select('doc').where('doc', '=', room).executeTakeFirst()),
			'a snapshot'
		);
		await h.close();
		// The slow writer's id was handed out before the compaction, its commit lands after it: reuse an id
		// the compaction freed, below the snapshot's upto_id.
		const snap = await ctx.db.selectFrom('collab_snapshots').select('upto_id').where('doc', '=', room).executeTakeFirstOrThrow();
		const used = new Set((await ctx.db.selectFrom('collab_updates').select('id').execute()).map((r) => Number(r.id)));
		let lowId = Number(snap.upto_id) - 1;
		while (used.has(lowId)) lowId--;
		expect(lowId).toBeGreaterThan(0);
		const slow = new Y.Doc();
		entry(slow, 'slow writer', '2026-11-23T07:59:00Z');
		await ctx.db
			.insertInto('collab_updates')
			.values({ id: String(lowId), doc: room, update: Y.encodeStateAsUpdate(slow), node_id: 'other-node' })
			.execute();

		const h2 = await harness();
		expect(await h2.server.port.read(room, (d) => listEntries(d).map((e) => e.text))).toEqual([
			'slow writer',
			'fast 0',
			'fast 1',
			'fast 2',
			'fast 3'
		]);
	});

	it('unloads an idle room after flushing, and loads it again on demand', async () => {
		const h = await harness({ roomIdleMs: 50 });
		const room = randomUUID();
		const alice = await user();
		const a = connectProvider(h, { room, cookie: alice.cookie });
		await synced(a);
		entry(a.doc, 'kept');
		await waitFor(async () => (await h.server.port.read(room, (d) => listEntries(d).length)) === 1, 'the write');
		a.destroy();
		await waitFor(() => !h.server.rooms.loadedRoomNames().includes(room), 'the room to unload');
		expect(await h.server.port.read(room, (d) => listEntries(d).map((e) => e.text))).toEqual(['kept']);
	});

	it('hibernates an idle room while people are in it, and wakes it on the next message without losing anything', async () => {
		const h = await harness({ hibernateAfterMs: 60, flushIntervalMs: 5 });
		const room = randomUUID();
		const alice = await user();
		const bob = await user();
		// Committed = in the database (acks count the provider's own sync messages too, so they are not used here).
		const committed = async () => listEntries(await committedDoc(room)).map((e) => e.text);
		const a = client(h, { room, cookie: alice.cookie });
		await synced(a);
		entry(a.doc, 'before the nap');
		await waitFor(async () => (await committed()).length === 1, 'the first entry to be committed');
		a.provider.awareness.setLocalStateField('typing', false);
		// Idle: the document sleeps, the room stays loaded and Alice stays connected.
		await waitFor(() => h.server.rooms.hibernatingCount() === 1, 'the room to hibernate');
		expect(h.server.rooms.loadedRoomNames()).toContain(room);
		expect(a.provider.wsconnected).toBe(true);

		// A join and a write wake it: applied, broadcast and committed as usual.
		const b = client(h, { room, cookie: bob.cookie });
		await synced(b);
		expect(listEntries(b.doc).map((e) => e.text)).toEqual(['before the nap']);
		await waitFor(() => h.server.rooms.hibernatingCount() === 1, 'the room to hibernate again');
		entry(a.doc, 'after the nap', '2026-11-23T08:01:00Z');
		await waitFor(() => listEntries(b.doc).length === 2, 'bob to see the new entry');
		await waitFor(async () => (await committed()).length === 2, 'the second entry to be committed');
		expect(await committed()).toEqual(['before the nap', 'after the nap']);
		// Services read and write a hibernating room like any other.
		await waitFor(() => h.server.rooms.hibernatingCount() === 1, 'a third nap');
		await h.server.port.transact(room, (d) => entry(d, 'from a service', '2026-11-23T08:02:00Z'));
		await waitFor(() => listEntries(a.doc).length === 3 && listEntries(b.doc).length === 3, 'both to see the service entry');
		expect(await committed()).toEqual(['before the nap', 'after the nap', 'from a service']);
		// Presence was never part of the nap.
		await waitFor(() => b.provider.awareness.getStates().has(a.doc.clientID), "bob to see alice's presence");
	});

	it('opens a compacted document asleep, answers fresh clients from its snapshot, and wakes for a write or a client that has something', async () => {
		const room = randomUUID();
		// A compacted document: a snapshot and no log after it.
		const stored = new Y.Doc();
		for (let i = 0; i < 30; i++) entry(stored, `kept ${i}`, new Date(Date.UTC(2026, 10, 23, 8, i)).toISOString());
		await collabRepo.upsertSnapshot(ctx.db, { doc: room, state: Y.encodeStateAsUpdate(stored), uptoId: '0', at: new Date() });
		const h = await harness({ flushIntervalMs: 5 });
		const [alice, bob, carol] = [await user(), await user(), await user()];
		const kept = Array.from({ length: 30 }, (_, i) => `kept ${i}`);

		// Two fresh clients get the whole document while the room never decodes it.
		const a = client(h, { room, cookie: alice.cookie });
		const b = client(h, { room, cookie: bob.cookie });
		await Promise.all([synced(a), synced(b)]);
		expect(listEntries(a.doc).map((e) => e.text)).toEqual(kept);
		expect(listEntries(b.doc).map((e) => e.text)).toEqual(kept);
		expect(h.server.rooms.hibernatingCount()).toBe(1);

		// A write wakes it: applied on top of the snapshot, broadcast and committed.
		entry(a.doc, 'after waking', '2026-11-23T09:00:00Z');
		await waitFor(() => listEntries(b.doc).length === 31, 'bob to see the new entry');
		expect(h.server.rooms.hibernatingCount()).toBe(0);
		await waitFor(async () => listEntries(await committedDoc(room)).length === 31, 'the entry to be committed');

		// A client that already has part of it (its own offline copy) is answered with the difference.
		await h.server.rooms.flushNow();
		h.server.rooms.hibernateIdle(Date.now() + 60_000);
		expect(h.server.rooms.hibernatingCount()).toBe(1);
		const offline = new Y.Doc();
		Y.applyUpdate(offline, Y.encodeStateAsUpdate(stored));
		entry(offline, 'written offline', '2026-11-23T09:30:00Z');
		const c = client(h, { room, cookie: carol.cookie, doc: offline });
		await synced(c);
		await waitFor(() => listEntries(c.doc).length === 32 && listEntries(a.doc).length === 32, 'everyone to hold all 32 entries');
		expect(listEntries(c.doc).map((e) => e.text)).toEqual([...kept, 'after waking', 'written offline']);
		await waitFor(async () => listEntries(await committedDoc(room)).length === 32, 'the offline entry to be committed');
	});

	it('lets services append system entries and transact whether or not the room is loaded', async () => {
		const h = await harness();
		const room = randomUUID();
		await h.server.port.transact(room, (d) => d.getMap('checklist').set('step-1', { done: true }));
		expect(await logRows(room)).toBe(1); // committed when transact resolves
		const alice = await user();
		const a = client(h, { room, cookie: alice.cookie });
		await synced(a);
		await h.server.port.appendSystemEntry(room, { kind: 'escalation', text: { 'zh-CN': '已升级', en: 'Escalated' }, pinned: true });
		await waitFor(() => listEntries(a.doc).length === 1, 'the live system entry');
		expect(listEntries(a.doc)[0]).toMatchObject({ kind: 'escalation', text: '已升级', author: null, authorName: 'Warroom', pinned: true });
		expect(a.doc.getMap('checklist').get('step-1')).toEqual({ done: true });
	});
});
