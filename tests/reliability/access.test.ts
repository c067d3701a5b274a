/**
 * Access (issue 10): who may open which socket, who may change what, on the real services, the real API
 * handlers, a real collab endpoint with the real access rule, and the production build for CSRF, session
 * fixation, login throttling and user enumeration. Ends with a figures line.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createEntry, listEntries, notesOf } from '../../src/lib/collab/incident-doc';
import { can, INCIDENT_OPERATIONS, type Operation } from '../../src/lib/domain/permissions';
import type { GlobalRole, IncidentRole } from '../../src/lib/domain/roles';
import { changeStatusApi, createIncidentApi, getIncidentApi } from '../../src/lib/server/api/incidents.api';
import { createSession, invalidateSession, invalidateUserSessions } from '../../src/lib/server/auth/sessions';
import { randomString } from '../../src/lib/server/auth/tokens';
import { login } from '../../src/lib/server/services/auth.service';
import { encodeAwareness, encodeAwarenessUpdate, encodeUpdate } from '../../src/lib/server/collab/protocol';
import type { Actor } from '../../src/lib/server/context';
import { SYSTEM_ACTOR } from '../../src/lib/server/context';
import { createActionItem } from '../../src/lib/server/services/action-item.service';
import { saveService } from '../../src/lib/server/services/catalogue.service';
import {
	changePriority,
	changeStatus,
	declareIncident,
	editIncident,
	getIncident,
	listIncidents,
	notFound,
	openIncident,
	roomAccess,
	roomPolicy
} from '../../src/lib/server/services/incident.service';
import { addMember, changeMemberRole, removeMember } from '../../src/lib/server/services/membership.service';
import { contentForExport } from '../../src/lib/server/services/review.service';
import { updateUser } from '../../src/lib/server/services/users.service';
import { connectProvider, sessionCookie, startHarness, synced, waitFor, type Client, type Harness } from '../integration/collab-harness';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';
import { Figures, median, pick } from './support/profile';
import { hasPostgresBinaries, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres';
import { loginCookie, postLogin, startProdServer, type ProdServer, DEMO_PASSWORD } from './support/prod-server';
import { RawPeer, tryUpgrade, waitUntil, type UpgradeOutcome } from './support/ws';

const figures = new Figures('access');
let ctx: TestContext;
let h: Harness;
const cleanups: (() => unknown)[] = [];

type User = Awaited<ReturnType<typeof makeUser>> & { cookie: string; sessionId: string };
let declarer: User;
let openInc: string, restrictedInc: string, openNumber: string;

function must<T>(what: string, r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`${what}: ${r.error.code}: ${r.error.message}`);
	return r.value;
}

async function user(role: GlobalRole, displayName?: string): Promise<User> {
	const u = await makeUser(ctx, { role, displayName });
	const s = await sessionCookie(ctx, u.id);
	return { ...u, ...s };
}

beforeAll(async () => {
	ctx = await createTestContext();
	// The real access rule (incident membership, roles, restriction), as the production app installs it.
	h = await startHarness(ctx, { accessResolver: roomPolicy });
	ctx.collab = h.server.port;
	must(
		'service',
		await saveService(ctx, SYSTEM_ACTOR, { input: { code: 'CORE', nameZh: '核心', nameEn: 'Core', criticality: 'critical' } })
	);
	declarer = await user('manager', 'Declarer');
	const base = { description: 'x', impact: 'extensive', urgency: 'high', services: ['CORE'] };
	const o = must('declare open', await declareIncident(ctx, declarer.actor, { ...base, title: 'Open incident' })).incident;
	openInc = o.id;
	openNumber = o.number;
	restrictedInc = must(
		'declare restricted',
		await declareIncident(ctx, declarer.actor, { ...base, title: 'Restricted incident', restricted: true })
	).incident.id;
});

afterAll(async () => {
	for (const c of cleanups.splice(0).reverse()) await c();
	figures.print();
	await h?.close();
	await ctx?.close();
});

// ---------------------------------------------------------------------------------------------
// 1. Unauthorised upgrades
// ---------------------------------------------------------------------------------------------

interface Variant {
	name: string;
	path: string;
	headers: Record<string, string>;
	expect: number[];
}

let upgradeVariants = 0;
let upgradesAccepted = 0;

function outcomeLabel(o: UpgradeOutcome): string {
	return 'status' in o ? String(o.status) : 'ws' in o ? '101 (accepted!)' : `error: ${o.error}`;
}

async function runVariants(port: number, variants: Variant[]): Promise<string[]> {
	const problems: string[] = [];
	for (const v of variants) {
		const o = await tryUpgrade(port, v.path, v.headers);
		upgradeVariants++;
		if ('ws' in o) {
			upgradesAccepted++;
			o.ws.terminate();
			problems.push(`${v.name}: accepted`);
		} else if ('error' in o) {
			// The client could not even send it (e.g. an invalid header): not a socket either, but say so.
			problems.push(`${v.name}: ${o.error}`);
		} else if (!v.expect.includes(o.status)) problems.push(`${v.name}: expected ${v.expect.join('/')}, got ${outcomeLabel(o)}`);
	}
	return problems;
}

describe(`unauthorised WebSocket upgrades (${dbLabel}, real access rule)`, () => {
	it('refuses every variant with the documented HTTP status and never switches protocols', async () => {
		const goodOrigin = h.origin;
		const responder = await user('responder', 'Member');
		must('member', await addMember(ctx, declarer.actor, { incidentId: openInc, userId: responder.id, role: 'responder', page: false }));
		must(
			'member',
			await addMember(ctx, declarer.actor, { incidentId: restrictedInc, userId: responder.id, role: 'responder', page: false })
		);
		const token = responder.cookie.split('=')[1]!;
		const [id, secret] = token.split('.') as [string, string];

		// Positive control: the same user with the same headers is let in (otherwise every refusal below is meaningless).
		for (const room of [openInc, restrictedInc]) {
			const ok = await tryUpgrade(h.port, `/collab/${room}`, { Cookie: responder.cookie, Origin: goodOrigin });
			expect('ws' in ok, `control: ${room}`).toBe(true);
			if ('ws' in ok) ok.ws.terminate();
		}

		// Sessions that are no longer (or never were) valid.
		const expiredIdle = await createSession(ctx, { userId: responder.id, ip: null, userAgent: null });
		await ctx.db
			.updateTable('sessions')
			.set({ last_seen_at: new Date(Date.now() - ctx.config.sessionIdleTimeoutMs - 60_000) })
			.where('id', '=', expiredIdle.session.id)
			.execute();
		const expiredAbsolute = await createSession(ctx, { userId: responder.id, ip: null, userAgent: null });
		await ctx.db
			.updateTable('sessions')
			.set({ created_at: new Date(Date.now() - ctx.config.sessionAbsoluteTimeoutMs - 60_000) })
			.where('id', '=', expiredAbsolute.session.id)
			.execute();
		const revoked = await createSession(ctx, { userId: responder.id, ip: null, userAgent: null });
		await invalidateSession(ctx, { id: revoked.session.id, user_id: responder.id });
		const loggedOutEverywhere = await user('responder', 'Logged out');
		await invalidateUserSessions(ctx, loggedOutEverywhere.id);
		const disabled = await user('responder', 'Disabled');
		must('disable', await updateUser(ctx, (await user('admin')).actor, { userId: disabled.id, input: { disabled: true } }));
		// A session row created for a disabled user anyway (e.g. a race with the admin): still refused.
		const disabledAfter = await sessionCookie(ctx, disabled.id);

		const cookieVariants: [string, Record<string, string>][] = [
			['no cookie', {}],
			['empty session cookie', { Cookie: 'warroom_session=' }],
			['garbage session cookie', { Cookie: 'warroom_session=garbage' }],
			['forged token of the right shape', { Cookie: `warroom_session=${randomString()}.${randomString()}` }],
			['real session id, forged secret', { Cookie: `warroom_session=${id}.${randomString()}` }],
			['real session id, no secret', { Cookie: `warroom_session=${id}` }],
			['secret only', { Cookie: `warroom_session=${secret}` }],
			['token with a character flipped', { Cookie: `warroom_session=${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}` }],
			['token upper-cased', { Cookie: `warroom_session=${token.toUpperCase()}` }],
			['token truncated', { Cookie: `warroom_session=${token.slice(0, 30)}` }],
			['token padded', { Cookie: `warroom_session=${token}aa` }],
			['oversized cookie', { Cookie: `warroom_session=${'a'.repeat(4000)}` }],
			['SQL in the cookie', { Cookie: `warroom_session=${encodeURIComponent("' or '1'='1")}` }],
			['cookie under another name', { Cookie: `session=${token}` }],
			['cookie name in another case', { Cookie: `Warroom_Session=${token}` }],
			['token as a bearer header instead of the cookie', { Authorization: `Bearer ${token}` }],
			['expired session (idle timeout)', { Cookie: `warroom_session=${expiredIdle.token}` }],
			['expired session (absolute timeout)', { Cookie: `warroom_session=${expiredAbsolute.token}` }],
			['revoked session (logged out)', { Cookie: `warroom_session=${revoked.token}` }],
			['session of a user logged out everywhere', { Cookie: loggedOutEverywhere.cookie }],
			["disabled user's old session", { Cookie: disabled.cookie }],
			['session created for a disabled user', { Cookie: disabledAfter.cookie }]
		];
		const variants: Variant[] = [];
		for (const room of [openInc, restrictedInc]) {
			const tag = room === openInc ? 'open' : 'restricted';
			for (const [name, headers] of cookieVariants)
				variants.push({ name: `${tag}: ${name}`, path: `/collab/${room}`, headers: { Origin: goodOrigin, ...headers }, expect: [401] });
			// Origins: exact match with the request's own host (no ORIGIN configured here), nothing else.
			const port = h.port;
			const origins: [string, string | undefined][] = [
				['missing Origin', undefined],
				['Origin null', 'null'],
				['foreign Origin', 'https://evil.example'],
				['other port', `http://127.0.0.1:${port + 1}`],
				['other host name for the same address', `http://localhost:${port}`],
				['suffix domain', `http://127.0.0.1.evil.example:${port}`],
				['user info', `http://evil@127.0.0.1:${port}`],
				['trailing slash', `http://127.0.0.1:${port}/`],
				['with a path', `http://127.0.0.1:${port}/collab`],
				['upper-case scheme', `HTTP://127.0.0.1:${port}`],
				['two origins', `http://127.0.0.1:${port}, https://evil.example`],
				['file origin', 'file://'],
				['extension origin', 'chrome-extension://abcdefghijklmnop'],
				['empty Origin', '']
			];
			for (const [name, origin] of origins) {
				const headers: Record<string, string> = { Cookie: responder.cookie };
				if (origin !== undefined) headers.Origin = origin;
				variants.push({ name: `${tag}: ${name}`, path: `/collab/${room}`, headers, expect: [403] });
			}
		}

		// Per-incident access: valid sessions, allowed Origin, but no business in this room.
		const outsiders = {
			responder: await user('responder', 'Outsider R'),
			manager: await user('manager', 'Outsider M'),
			viewer: await user('viewer', 'Outsider V')
		};
		const removed = await user('responder', 'Removed');
		must(
			'add',
			await addMember(ctx, declarer.actor, { incidentId: restrictedInc, userId: removed.id, role: 'technical_lead', page: false })
		);
		must('remove', await removeMember(ctx, declarer.actor, { incidentId: restrictedInc, userId: removed.id }));
		const admin = await user('admin', 'Admin');
		const access: [string, string, string][] = [
			['restricted: non-member responder', outsiders.responder.cookie, restrictedInc],
			['restricted: non-member manager', outsiders.manager.cookie, restrictedInc],
			['restricted: non-member viewer', outsiders.viewer.cookie, restrictedInc],
			['restricted: removed member', removed.cookie, restrictedInc],
			['restricted: upper-cased id, non-member', outsiders.responder.cookie, restrictedInc.toUpperCase()],
			['restricted: incident number instead of id, non-member', outsiders.manager.cookie, openNumber],
			['unknown incident id (responder)', responder.cookie, randomUUID()],
			['unknown incident id (manager)', outsiders.manager.cookie, randomUUID()],
			['unknown incident id (admin)', admin.cookie, randomUUID()],
			['nil UUID (admin)', admin.cookie, '00000000-0000-0000-0000-000000000000'],
			['a URL-safe token that is not an id (admin)', admin.cookie, 'not-an-incident'],
			["another kind of object's id: the user's own id (admin)", admin.cookie, admin.id]
		];
		for (const [name, cookie, room] of access)
			variants.push({ name, path: `/collab/${room}`, headers: { Origin: goodOrigin, Cookie: cookie }, expect: [403] });

		// Paths and ids.
		const paths: [string, string, number[]][] = [
			['bare /collab', '/collab', [404]],
			['/collab/ without id', '/collab/', [404]],
			['double slash', `/collab//${openInc}`, [404]],
			['trailing slash', `/collab/${openInc}/`, [404]],
			['nested', `/collab/${openInc}/extra`, [404]],
			['other case prefix', `/Collab/${openInc}`, [404]],
			['prefix without slash', `/collab${openInc}`, [404]],
			['another path', `/api/collab/${openInc}`, [404]],
			['root', '/', [404]],
			['encoded traversal', `/collab/..%2F${openInc}`, [400]],
			['dot segment (normalised away by URL parsing)', '/collab/%2E%2E', [400, 404]],
			['too long id', `/collab/${'a'.repeat(101)}`, [400]],
			['leading dash', '/collab/-abc', [400]],
			['bad percent escape', '/collab/%ZZ', [400]],
			['NUL in the id', '/collab/a%00b', [400]],
			['encoded slash inside the id', `/collab/${openInc}%2Fx`, [400]],
			['emoji id', '/collab/%F0%9F%94%A5', [400]],
			['trailing encoded space', `/collab/${openInc}%20`, [400]],
			['SQL in the id', `/collab/${encodeURIComponent("x' or '1'='1")}`, [400]]
		];
		for (const [name, p, codes] of paths)
			variants.push({ name: `path: ${name}`, path: p, headers: { Origin: goodOrigin, Cookie: responder.cookie }, expect: codes });

		const problems = await runVariants(h.port, variants);
		expect(problems).toEqual([]);
		expect(h.server.connectionCount()).toBe(0);
		expect(upgradeVariants).toBeGreaterThanOrEqual(90);
	});
});

// ---------------------------------------------------------------------------------------------
// 2. Read-only users cannot change the document; demoted / logged-out sockets stop writing
// ---------------------------------------------------------------------------------------------

let readOnlyAttempts = 0;
let readOnlyApplied = 0;

async function openPeer(cookie: string, room: string, acks = true): Promise<RawPeer> {
	const o = await tryUpgrade(h.port, `/collab/${room}${acks ? '?acks=1' : ''}`, { Cookie: cookie, Origin: h.origin });
	if (!('ws' in o)) throw new Error(`could not open a socket: ${outcomeLabel(o)}`);
	const p = new RawPeer(o.ws);
	cleanups.push(() => p.close());
	if (!(await p.barrier())) throw new Error('no sync answer');
	return p;
}

function snapshotOf(doc: Y.Doc) {
	return {
		sv: Buffer.from(Y.encodeStateVector(doc)).toString('base64'),
		entries: JSON.stringify(listEntries(doc, { includeDeleted: true })),
		notes: notesOf(doc).toString()
	};
}

async function serverState(room: string) {
	return h.server.port.read(room, (d) => snapshotOf(d));
}

function clientFor(cookie: string, room: string): Client {
	const c = connectProvider(h, { room, cookie, acks: true });
	cleanups.push(() => c.destroy());
	return c;
}

describe('read-only connections', () => {
	it('cannot change the document by any message kind, nor pose as someone else in presence', async () => {
		const room = openInc;
		const writer = await user('responder', 'Writer');
		must('member', await addMember(ctx, declarer.actor, { incidentId: room, userId: writer.id, role: 'scribe', page: false }));
		const watcher = await user('responder', 'Watcher');
		must('member', await addMember(ctx, declarer.actor, { incidentId: room, userId: watcher.id, role: 'scribe', page: false }));
		const w = clientFor(writer.cookie, room);
		const o = clientFor(watcher.cookie, room);
		await Promise.all([synced(w), synced(o)]);
		createEntry(w.doc, {
			id: randomUUID(),
			at: '2026-11-23T08:00:00Z',
			recordedAt: '2026-11-23T08:00:00Z',
			kind: 'note',
			text: 'writer entry',
			author: writer.id,
			authorName: 'Writer'
		});
		notesOf(w.doc).insert(0, 'writer notes');
		w.provider.awareness.setLocalStateField('typing', true);
		await waitFor(() => w.acked() >= 2, 'the writer to be acknowledged');
		await waitFor(() => o.provider.awareness.getStates().has(w.doc.clientID), 'the watcher to see the writer');

		// Read-only kinds: a global viewer who is an observer, a responder observer, a responder non-member.
		const viewer = await user('viewer', 'Exec');
		must('member', await addMember(ctx, declarer.actor, { incidentId: room, userId: viewer.id, role: 'observer', page: false }));
		const observer = await user('responder', 'Observer');
		must('member', await addMember(ctx, declarer.actor, { incidentId: room, userId: observer.id, role: 'observer', page: false }));
		const bystander = await user('responder', 'Bystander');
		expect(await roomAccess(ctx, { userId: viewer.id, incidentId: room })).toBe('read');
		expect(await roomAccess(ctx, { userId: observer.id, incidentId: room })).toBe('read');
		expect(await roomAccess(ctx, { userId: bystander.id, incidentId: room })).toBe('read');

		const before = await serverState(room);
		for (const ro of [viewer, observer, bystander]) {
			const p = await openPeer(ro.cookie, room);
			const mirror = p.lastDocument(); // what the server sent: a copy to build edits on
			expect(listEntries(mirror).map((e) => e.text)).toContain('writer entry');
			const captured: Uint8Array[] = [];
			mirror.on('update', (u: Uint8Array) => captured.push(u));
			const existing = mirror.getArray<Y.Map<unknown>>('timeline').get(0)!;
			const attempts: [string, () => void][] = [
				[
					'sync step 2 with a new entry',
					() => {
						const d = new Y.Doc();
						createEntry(d, {
							id: randomUUID(),
							at: '2026-11-23T09:00:00Z',
							recordedAt: '2026-11-23T09:00:00Z',
							kind: 'decision',
							text: 'forged decision',
							author: writer.id,
							authorName: 'Writer'
						});
						p.syncStep2(Y.encodeStateAsUpdate(d));
					}
				],
				[
					'update with a new entry',
					() => {
						const d = new Y.Doc();
						createEntry(d, {
							id: randomUUID(),
							at: '2026-11-23T09:01:00Z',
							recordedAt: '2026-11-23T09:01:00Z',
							kind: 'note',
							text: 'forged note',
							author: ro.id,
							authorName: 'X'
						});
						p.send(encodeUpdate(Y.encodeStateAsUpdate(d)));
					}
				],
				[
					'update to the notes',
					() => {
						notesOf(mirror).insert(0, 'read-only notes ');
						p.send(encodeUpdate(captured.at(-1)!));
					}
				],
				[
					'update editing an existing entry',
					() => {
						(existing.get('text') as Y.Text).insert(0, 'EDITED ');
						p.send(encodeUpdate(captured.at(-1)!));
					}
				],
				[
					'update soft-deleting an existing entry',
					() => {
						existing.set('deletedBy', ro.id);
						existing.set('deletedAt', '2026-11-23T09:02:00Z');
						p.send(encodeUpdate(captured.at(-1)!));
					}
				],
				[
					'update physically deleting an entry',
					() => {
						mirror.getArray('timeline').delete(0, 1);
						p.send(encodeUpdate(captured.at(-1)!));
					}
				],
				['sync step 2 carrying all of the above', () => p.syncStep2(Y.mergeUpdates(captured))],
				[
					'update clearing the notes',
					() => {
						const t = notesOf(mirror);
						t.delete(0, t.length);
						p.send(encodeUpdate(captured.at(-1)!));
					}
				],
				[
					'update writing the checklist',
					() => {
						mirror.getMap('checklist').set('step-1', true);
						p.send(encodeUpdate(captured.at(-1)!));
					}
				],
				[
					'update to a root type nobody uses',
					() => {
						mirror.getMap('admin').set('owner', ro.id);
						p.send(encodeUpdate(captured.at(-1)!));
					}
				]
			];
			for (const [, act] of attempts) {
				act();
				readOnlyAttempts++;
			}
			// Presence: pose as the writer, take over the writer's awareness id, remove the writer.
			const myId = 990_000 + readOnlyAttempts;
			const wid = w.doc.clientID;
			const presence = [
				{ clientId: myId, clock: 1, state: { user: { id: writer.id, name: 'Writer' }, typing: true } },
				{ clientId: wid, clock: 1_000_000, state: { user: { id: ro.id, name: ro.username }, typing: false } },
				{ clientId: wid, clock: 1_000_001, state: null }
			];
			for (const entry of presence) {
				p.send(encodeAwareness(encodeAwarenessUpdate([entry])));
				readOnlyAttempts++;
			}
			expect(await p.barrier()).toBe(true);
			expect(p.open).toBe(true); // dropped, not a protocol error
			expect(p.acked).toBe(0); // read-only connections are never acked
			const seen = await waitUntil(() => o.provider.awareness.getStates().has(myId), 2000);
			expect(seen).toBe(true);
			const posed = o.provider.awareness.getStates().get(myId) as { user: { id: string; name: string } };
			if (posed.user.id !== ro.id) readOnlyApplied++;
			const writerState = o.provider.awareness.getStates().get(wid) as { user: { id: string } } | undefined;
			if (!writerState || writerState.user.id !== writer.id) readOnlyApplied++;
		}
		await h.server.rooms.flushNow();
		const after = await serverState(room);
		if (after.sv !== before.sv || after.entries !== before.entries || after.notes !== before.notes) readOnlyApplied++;
		expect(after).toEqual(before);
		expect(readOnlyApplied).toBe(0);
		// The writer still writes.
		createEntry(w.doc, {
			id: randomUUID(),
			at: '2026-11-23T08:05:00Z',
			recordedAt: '2026-11-23T08:05:00Z',
			kind: 'note',
			text: 'writer again',
			author: writer.id,
			authorName: 'Writer'
		});
		await waitFor(
			async () => h.server.port.read(room, (d) => listEntries(d).some((e) => e.text === 'writer again')),
			'the writer to keep writing'
		);
	});

	it("a logged-out, disabled or demoted user's open socket stops writing at once", async () => {
		const room = openInc;
		const admin = await user('admin');
		const probes: { name: string; closeMs: number; code: number; leaked: boolean }[] = [];

		async function writerOn(role: IncidentRole = 'scribe') {
			const u = await user('responder', `W${probes.length}`);
			must('member', await addMember(ctx, declarer.actor, { incidentId: room, userId: u.id, role, page: false }));
			const p = await openPeer(u.cookie, room);
			const d = new Y.Doc();
			createEntry(d, {
				id: randomUUID(),
				at: '2026-11-23T10:00:00Z',
				recordedAt: '2026-11-23T10:00:00Z',
				kind: 'note',
				text: `ok ${u.id}`,
				author: u.id,
				authorName: 'W'
			});
			p.send(encodeUpdate(Y.encodeStateAsUpdate(d)));
			await waitUntil(() => p.acked >= 1, 3000);
			expect(p.acked).toBe(1);
			return { u, p };
		}

		async function afterChange(name: string, p: RawPeer, change: () => Promise<unknown>) {
			const t0 = performance.now();
			await change();
			// Straight after the change returns: try to write.
			const marker = `leak ${randomUUID()}`;
			const d = new Y.Doc();
			createEntry(d, {
				id: randomUUID(),
				at: '2026-11-23T10:01:00Z',
				recordedAt: '2026-11-23T10:01:00Z',
				kind: 'note',
				text: marker,
				author: null,
				authorName: 'X'
			});
			p.send(encodeUpdate(Y.encodeStateAsUpdate(d)));
			const info = await Promise.race([p.closedPromise, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
			const closeMs = performance.now() - t0;
			await h.server.rooms.flushNow();
			const leaked = await h.server.port.read(room, (doc) => listEntries(doc).some((e) => e.text === marker));
			probes.push({ name, closeMs, code: info?.code ?? -1, leaked });
		}

		const a = await writerOn();
		await afterChange('logout', a.p, () => invalidateSession(ctx, { id: a.u.sessionId, user_id: a.u.id }));
		const b = await writerOn();
		await afterChange('disabled by an admin', b.p, () => updateUser(ctx, admin.actor, { userId: b.u.id, input: { disabled: true } }));
		const c = await writerOn();
		await afterChange('demoted to observer', c.p, () =>
			changeMemberRole(ctx, declarer.actor, { incidentId: room, userId: c.u.id, role: 'observer' })
		);
		const d = await writerOn();
		await afterChange('global role to viewer', d.p, () =>
			updateUser(ctx, admin.actor, { userId: d.u.id, input: { globalRole: 'viewer' } })
		);
		const e = await writerOn();
		await afterChange('removed from the incident', e.p, () => removeMember(ctx, declarer.actor, { incidentId: room, userId: e.u.id }));

		const expected: Record<string, number> = {
			logout: 4401,
			'disabled by an admin': 4401,
			'demoted to observer': 4000,
			'global role to viewer': 4000,
			'removed from the incident': 4000 // a responder non-member of an open incident still reads
		};
		for (const pr of probes) {
			expect(pr.code, pr.name).toBe(expected[pr.name]);
			expect(pr.closeMs, pr.name).toBeLessThan(1000);
		}
		// Logout and disable close synchronously with the event; role and membership changes hold what the
		// socket sends until the re-check has decided: nothing sent after any of them can land.
		expect(probes.filter((x) => x.leaked).map((x) => x.name)).toEqual([]);
		// After the recycle the demoted user comes back read-only: writes are dropped.
		const again = await openPeer(c.u.cookie, room);
		const doc = new Y.Doc();
		createEntry(doc, {
			id: randomUUID(),
			at: '2026-11-23T10:02:00Z',
			recordedAt: '2026-11-23T10:02:00Z',
			kind: 'note',
			text: 'after demotion',
			author: c.u.id,
			authorName: 'W'
		});
		again.send(encodeUpdate(Y.encodeStateAsUpdate(doc)));
		await again.barrier();
		await h.server.rooms.flushNow();
		expect(await h.server.port.read(room, (x) => listEntries(x).some((en) => en.text === 'after demotion'))).toBe(false);
		const slowest = Math.max(...probes.map((x) => x.closeMs));
		const leaks = probes.filter((x) => x.leaked).map((x) => x.name);
		figures.add(
			`${probes.length} revocations closed within ${Math.ceil(slowest)} ms, ${leaks.length} writes slipped through the race${leaks.length ? ` (${leaks.join(', ')})` : ''}`
		);
	});
});

// ---------------------------------------------------------------------------------------------
// 3. Role × operation over the reachable read and write paths, compared with can()
// ---------------------------------------------------------------------------------------------

let checks = 0;
const mismatches: string[] = [];

type R = { ok: true } | { ok: false; error: { code: string; message: string } };
/** A permission refusal: `forbidden`, or the not-found that hides an incident one may not view. */
function denied(r: R): boolean {
	return !r.ok && (r.error.code === 'forbidden' || (r.error.code === 'not_found' && r.error.message === notFound().message));
}

function record(label: string, expected: boolean, actual: boolean, detail = ''): void {
	checks++;
	if (expected !== actual) mismatches.push(`${label}: can()=${expected}, path=${actual}${detail ? ` (${detail})` : ''}`);
}

interface Subject {
	name: string;
	globalRole: GlobalRole;
	incidentRole: IncidentRole | null;
	u: User;
}

async function apiReq(method: string, pathname: string, body?: unknown): Promise<Request> {
	const url = `http://127.0.0.1${pathname}`;
	return new Request(url, {
		method,
		headers: { origin: 'http://127.0.0.1', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
		body: body === undefined ? undefined : JSON.stringify(body)
	});
}

describe('role × operation over services, API and socket, against can()', () => {
	it('finds zero mismatches', async () => {
		const kinds: [string, GlobalRole, IncidentRole | null][] = [
			['admin non-member', 'admin', null],
			['manager non-member', 'manager', null],
			['responder non-member', 'responder', null],
			['viewer non-member', 'viewer', null],
			['admin member (responder)', 'admin', 'responder'],
			['manager member (observer)', 'manager', 'observer'],
			['viewer member (observer)', 'viewer', 'observer'],
			...(
				['deputy', 'communications_lead', 'scribe', 'technical_lead', 'vendor_liaison', 'service_desk', 'responder', 'observer'] as const
			).map((r): [string, GlobalRole, IncidentRole] => [`responder as ${r}`, 'responder', r])
		];
		const subjects: Subject[] = [
			{ name: 'declarer (incident manager)', globalRole: 'manager', incidentRole: 'incident_manager', u: declarer }
		];
		for (const [name, globalRole, incidentRole] of kinds) {
			const u = await user(globalRole, name);
			if (incidentRole)
				for (const incidentId of [openInc, restrictedInc])
					must(`add ${name}`, await addMember(ctx, declarer.actor, { incidentId, userId: u.id, role: incidentRole, page: false }));
			subjects.push({ name, globalRole, incidentRole, u });
		}

		for (const s of subjects) {
			const actor: Actor = s.u.actor;
			// Global operations: declare and propose through the service (an empty form: allowed → invalid, refused → forbidden).
			for (const mode of ['declare', 'propose'] as const) {
				const r = await openIncident(ctx, actor, { mode, input: {} });
				record(
					`${s.name} ${mode} (service)`,
					can({ globalRole: s.globalRole, member: false, restricted: false, operation: mode }),
					!denied(r),
					!r.ok ? r.error.code : 'ok'
				);
			}
			const api = await createIncidentApi({
				ctx,
				sessionActor: actor,
				request: await apiReq('POST', '/api/v1/incidents', { declare: true })
			});
			record(
				`${s.name} declare (API)`,
				can({ globalRole: s.globalRole, member: false, restricted: false, operation: 'declare' }),
				api.status !== 403,
				String(api.status)
			);

			const listed = must('list', await listIncidents(ctx, actor, { limit: 500 })).map((i) => i.id);
			for (const incidentId of [openInc, restrictedInc]) {
				const restricted = incidentId === restrictedInc;
				const tag = `${s.name} on ${restricted ? 'restricted' : 'open'}`;
				const input = { globalRole: s.globalRole, incidentRole: s.incidentRole, member: s.incidentRole !== null, restricted };
				const allowed = (operation: Operation) => can({ ...input, operation });
				const probes: [Operation, string, () => Promise<boolean>][] = [
					['view_incident', 'getIncident', async () => !denied(await getIncident(ctx, actor, incidentId))],
					['view_incident', 'listIncidents', async () => listed.includes(incidentId)],
					['change_status', 'changeStatus', async () => !denied(await changeStatus(ctx, actor, { incidentId, to: 'not-a-status' }))],
					[
						'change_priority',
						'changePriority',
						async () => !denied(await changePriority(ctx, actor, { incidentId, impact: 'not-an-impact', reason: '' }))
					],
					['edit_incident', 'editIncident', async () => !denied(await editIncident(ctx, actor, { incidentId, input: { title: '' } }))],
					[
						'assign_roles',
						'addMember',
						async () => !denied(await addMember(ctx, actor, { incidentId, userId: 'nobody', role: 'not-a-role' }))
					],
					['manage_action_items', 'createActionItem', async () => !denied(await createActionItem(ctx, actor, { incidentId, input: {} }))],
					['export_incident', 'contentForExport', async () => !denied(await contentForExport(ctx, actor, { incidentId }))],
					[
						'view_incident',
						'GET /api/v1/incidents/{id}',
						async () => {
							const res = await getIncidentApi({
								ctx,
								sessionActor: actor,
								id: incidentId,
								request: await apiReq('GET', `/api/v1/incidents/${incidentId}`)
							});
							return res.status === 200;
						}
					],
					[
						'change_status',
						'POST /api/v1/incidents/{id}/status',
						async () => {
							const res = await changeStatusApi({
								ctx,
								sessionActor: actor,
								id: incidentId,
								request: await apiReq('POST', `/api/v1/incidents/${incidentId}/status`, { status: 'not-a-status' })
							});
							return res.status !== 403 && res.status !== 404;
						}
					]
				];
				for (const [op, via, probe] of probes) record(`${tag}: ${op} via ${via}`, allowed(op), await probe());

				// The socket: opening it is viewing; a write lands (and is acked) only with write_timeline.
				const o = await tryUpgrade(h.port, `/collab/${incidentId}?acks=1`, { Cookie: s.u.cookie, Origin: h.origin });
				record(`${tag}: view_incident via socket`, allowed('view_incident'), 'ws' in o, outcomeLabel(o));
				if ('ws' in o) {
					const p = new RawPeer(o.ws);
					await p.barrier();
					const marker = `probe ${randomUUID()}`;
					const d = new Y.Doc();
					createEntry(d, {
						id: randomUUID(),
						at: '2026-11-23T11:00:00Z',
						recordedAt: '2026-11-23T11:00:00Z',
						kind: 'note',
						text: marker,
						author: s.u.id,
						authorName: s.name
					});
					p.send(encodeUpdate(Y.encodeStateAsUpdate(d)));
					await p.barrier();
					await h.server.rooms.flushNow();
					const landed = await h.server.port.read(incidentId, (doc) => listEntries(doc).some((e) => e.text === marker));
					record(`${tag}: write_timeline via socket`, allowed('write_timeline'), landed);
					if (landed) {
						await waitUntil(() => p.acked >= 1, 2000);
						record(`${tag}: write_timeline ack`, allowed('write_timeline'), p.acked >= 1);
					} else record(`${tag}: write_timeline ack`, allowed('write_timeline'), p.acked >= 1);
					p.close();
				}
			}
		}
		// Every incident operation the permission module knows is covered by at least can() itself.
		expect(INCIDENT_OPERATIONS.length).toBeGreaterThan(10);
		figures.add(`${mismatches.length} permission mismatches in ${checks} checks (${subjects.length} role kinds × 2 incidents)`);
		expect(mismatches).toEqual([]);
	});
});

// ---------------------------------------------------------------------------------------------
// 4. Login throttling (in-process, an hour of attempts on a moving clock)
// ---------------------------------------------------------------------------------------------

describe('login throttling over an hour', () => {
	it('lets at most 100 failed attempts per account per hour through to a password check', async () => {
		const victim = await makeUser(ctx, { role: 'responder' });
		const start = new Date('2026-11-23T00:00:00Z');
		const stepMs = pick(10_000, 2_000); // an attempt every 10 s (full: every 2 s) for one hour
		let checked = 0;
		let throttled = 0;
		let t = start.getTime();
		const attempts = Math.floor(3_600_000 / stepMs);
		for (let i = 0; i < attempts; i++, t += stepMs) {
			ctx.setNow(new Date(t));
			const r = await login(ctx, { username: victim.username, password: `wrong-${i}`, ip: null, userAgent: null });
			if (!r.ok && r.error.code === 'throttled') throttled++;
			else checked++;
		}
		// The right password during the lock-out is refused too (no oracle while throttled).
		const right = await login(ctx, { username: victim.username, password: victim.password, ip: null, userAgent: null });
		ctx.setNow(null);
		expect(checked).toBeLessThanOrEqual(100);
		expect(throttled).toBeGreaterThanOrEqual(attempts - 100);
		expect(right.ok === false && right.error.code === 'throttled').toBe(true);
		figures.add(`${attempts} failed logins in an hour on one account: ${throttled} throttled, ${checked} reached the password check`);
	});
});

// ---------------------------------------------------------------------------------------------
// 5. The production build: CSRF, session fixation, throttling and enumeration over HTTP
// ---------------------------------------------------------------------------------------------

/** Form actions in the source tree: `{ route, action }` for every `export const actions`. */
function formActions(): { route: string; action: string }[] {
	const root = path.resolve(import.meta.dirname, '../../src/routes');
	const out: { route: string; action: string }[] = [];
	const walk = (dir: string) => {
		for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
			const p = path.join(dir, e.name);
			if (e.isDirectory()) walk(p);
			else if (e.name === '+page.server.ts') {
				const src = fs.readFileSync(p, 'utf8');
				const m = /export const actions[^=]*=\s*\{([\s\S]*?)\n\};/m.exec(src);
				if (!m) continue;
				const route = '/' + path.relative(root, dir).split(path.sep).join('/');
				const names = [...m[1]!.matchAll(/^\t(?:async\s+)?([A-Za-z_][\w]*)\s*[:(]/gm)].map((x) => x[1]!);
				for (const action of names.length ? names : ['default']) out.push({ route: route === '/' ? '/' : route, action });
			}
		}
	};
	walk(root);
	return out;
}

/** A form action answered as JSON (`accept: application/json`): HTTP 200 with `{ type: 'failure', status }`. */
function actionStatus(r: { res: Response; body: string }): number {
	try {
		const j = JSON.parse(r.body) as { type?: string; status?: number };
		if (j.type === 'failure' && typeof j.status === 'number') return j.status;
		if (j.type === 'redirect') return 303;
	} catch {
		// not JSON
	}
	return r.res.status;
}

describe('the production build', () => {
	let s: ProdServer;
	let incidentId: string;
	let adminCookie: string;

	beforeAll(async () => {
		s = await startProdServer();
		const r = await postLogin(s, { username: 'admin' });
		adminCookie = `warroom_session=${r.token}`;
		const list = await fetch(`${s.origin}/api/v1/incidents?limit=5`, { headers: { cookie: adminCookie } });
		const body = (await list.json()) as { data: { id: string }[] };
		incidentId = body.data[0]!.id;
	});
	afterAll(async () => {
		await s?.stop();
	});

	it('refuses unauthorised upgrades on the real server too', async () => {
		const manager = (await postLogin(s, { username: 'manager' })).token!;
		const variants: Variant[] = [
			{ name: 'prod: no cookie', path: `/collab/${incidentId}`, headers: { Origin: s.origin }, expect: [401] },
			{
				name: 'prod: forged cookie',
				path: `/collab/${incidentId}`,
				headers: { Origin: s.origin, Cookie: `warroom_session=${randomString()}.${randomString()}` },
				expect: [401]
			},
			{ name: 'prod: missing Origin', path: `/collab/${incidentId}`, headers: { Cookie: `warroom_session=${manager}` }, expect: [403] },
			{
				name: 'prod: foreign Origin',
				path: `/collab/${incidentId}`,
				headers: { Origin: 'https://evil.example', Cookie: `warroom_session=${manager}` },
				expect: [403]
			},
			{
				name: 'prod: https scheme is not the configured http ORIGIN',
				path: `/collab/${incidentId}`,
				headers: { Origin: `https://127.0.0.1:${s.port}`, Cookie: `warroom_session=${manager}` },
				expect: [403]
			},
			{
				name: 'prod: localhost is not the configured ORIGIN',
				path: `/collab/${incidentId}`,
				headers: { Origin: `http://localhost:${s.port}`, Cookie: `warroom_session=${manager}` },
				expect: [403]
			},
			{
				name: 'prod: unknown incident',
				path: `/collab/${randomUUID()}`,
				headers: { Origin: s.origin, Cookie: `warroom_session=${manager}` },
				expect: [403]
			},
			{
				name: 'prod: unknown upgrade path',
				path: `/socket/${incidentId}`,
				headers: { Origin: s.origin, Cookie: `warroom_session=${manager}` },
				expect: [404]
			},
			{
				name: 'prod: page path',
				path: `/incidents/${incidentId}`,
				headers: { Origin: s.origin, Cookie: `warroom_session=${manager}` },
				expect: [404]
			},
			{
				name: 'prod: nested collab path',
				path: `/collab/${incidentId}/x`,
				headers: { Origin: s.origin, Cookie: `warroom_session=${manager}` },
				expect: [404]
			}
		];
		const control = await tryUpgrade(s.port, `/collab/${incidentId}`, { Origin: s.origin, Cookie: `warroom_session=${manager}` });
		expect('ws' in control).toBe(true);
		if ('ws' in control) control.ws.terminate();
		expect(await runVariants(s.port, variants)).toEqual([]);
		figures.add(`${upgradeVariants} upgrade variants, ${upgradesAccepted} accepted`);
		expect(upgradesAccepted).toBe(0);
	});

	it('refuses state-changing requests without or with a foreign Origin (CSRF) on every form action and the API', async () => {
		const actions = formActions();
		expect(actions.length).toBeGreaterThan(20);
		const countBefore = (
			(await (await fetch(`${s.origin}/api/v1/incidents?limit=500`, { headers: { cookie: adminCookie } })).json()) as { data: unknown[] }
		).data.length;
		let refused = 0;
		const problems: string[] = [];
		const fill = (route: string) =>
			route
				.replace(/\[id\]/g, incidentId)
				.replace(/\[token\]/g, 'x'.repeat(43))
				.replace(/\[[^\]]+\]/g, 'x');
		for (const { route, action } of actions) {
			const url = `${s.origin}${fill(route)}${action === 'default' ? '' : `?/${action}`}`;
			for (const [variant, origin, type] of [
				['no Origin', null, 'application/x-www-form-urlencoded'],
				['foreign Origin', 'https://evil.example', 'application/x-www-form-urlencoded'],
				['foreign Origin, multipart', 'https://evil.example', 'multipart/form-data; boundary=x'],
				['foreign Origin, text/plain', 'https://evil.example', 'text/plain']
			] as const) {
				const headers: Record<string, string> = { cookie: adminCookie, 'content-type': type, accept: 'application/json' };
				if (origin) headers.origin = origin;
				const res = await fetch(url, {
					method: 'POST',
					headers,
					body: type.startsWith('multipart') ? '--x--\r\n' : 'title=csrf&status=closed',
					redirect: 'manual'
				});
				const text = await res.text();
				if (res.status === 403 && /Cross-site/i.test(text)) refused++;
				else problems.push(`${route} ${action} (${variant}): ${res.status} ${text.slice(0, 120)}`);
			}
		}
		// The API (JSON bodies are not covered by SvelteKit's form check: the API checks Origin itself).
		const apiCalls: [string, unknown][] = [
			['/api/v1/incidents', { title: 'csrf', impact: 'extensive', urgency: 'high', declare: true }],
			[`/api/v1/incidents/${incidentId}/status`, { status: 'resolved' }]
		];
		for (const [p, body] of apiCalls)
			for (const origin of [null, 'https://evil.example', 'null', `http://localhost:${s.port}`]) {
				const headers: Record<string, string> = { cookie: adminCookie, 'content-type': 'application/json' };
				if (origin) headers.origin = origin;
				const res = await fetch(`${s.origin}${p}`, { method: 'POST', headers, body: JSON.stringify(body) });
				const text = await res.text();
				if (res.status === 403 && /cross_origin/.test(text)) refused++;
				else problems.push(`${p} (Origin ${origin}): ${res.status} ${text.slice(0, 120)}`);
			}
		const countAfter = (
			(await (await fetch(`${s.origin}/api/v1/incidents?limit=500`, { headers: { cookie: adminCookie } })).json()) as { data: unknown[] }
		).data.length;
		expect(problems).toEqual([]);
		expect(countAfter).toBe(countBefore);
		// Control: the same API call from our own origin is not refused as cross-origin.
		const own = await fetch(`${s.origin}/api/v1/incidents/${incidentId}/status`, {
			method: 'POST',
			headers: { cookie: adminCookie, 'content-type': 'application/json', origin: s.origin },
			body: JSON.stringify({ status: 'not-a-status' })
		});
		expect(own.status).toBe(400);
		figures.add(`${refused} cross-site POSTs refused over ${actions.length} form actions + 2 API endpoints`);
	});

	it('replaces a pre-set session cookie at login (session fixation)', async () => {
		// The attacker's own valid session, planted in the victim's browser …
		const attacker = (await postLogin(s, { username: 'responder2' })).token!;
		const planted = `warroom_session=${attacker}`;
		const victim = await postLogin(s, { username: 'manager', cookie: planted });
		expect(victim.token).toBeTruthy();
		expect(victim.token).not.toBe(attacker);
		// … still belongs to the attacker and was not promoted to the victim's account.
		const who = async (token: string) => {
			const res = await fetch(`${s.origin}/`, { headers: { cookie: `warroom_session=${token}` } });
			return res.text();
		};
		const attackerPage = await who(attacker);
		expect(attackerPage).toContain('Zhao Min');
		expect(attackerPage).not.toContain('Wang Li');
		expect(await who(victim.token!)).toContain('Wang Li');
		// A made-up value planted before login is never adopted either.
		const madeUp = `${randomString()}.${randomString()}`;
		const second = await postLogin(s, { username: 'manager', cookie: `warroom_session=${madeUp}` });
		expect(second.token).toBeTruthy();
		expect(second.token).not.toBe(madeUp);
		figures.add('session fixation: planted cookies replaced at login (2/2)');
	});

	it('throttles failed logins per account and does not tell which accounts exist', async () => {
		// Enumeration by message: an existing account with a wrong password and an unknown one get the same answer.
		const normalise = (body: string, username: string) => body.split(username).join('<u>');
		const samples = pick(4, 5); // within the free failures of each account, so no throttling skews timing
		const existing: number[] = [];
		const unknown: number[] = [];
		const bodies = new Set<string>();
		const statuses = new Set<number>();
		for (const account of ['admin', 'manager', 'responder', 'exec']) {
			for (let i = 0; i < samples; i++) {
				const ghost = `ghost${randomString().slice(0, 8)}`;
				const a = await postLogin(s, { username: account, password: `wrong-${i}` });
				const b = await postLogin(s, { username: ghost, password: `wrong-${i}` });
				existing.push(a.ms);
				unknown.push(b.ms);
				bodies.add(normalise(a.body, account));
				bodies.add(normalise(b.body, ghost));
				statuses.add(actionStatus(a)).add(actionStatus(b));
			}
		}
		expect([...statuses]).toEqual([401]);
		expect(bodies.size).toBe(1);
		const [mExisting, mUnknown] = [median(existing), median(unknown)];
		const tolerance = Math.max(25, 0.35 * Math.max(mExisting, mUnknown));
		expect(Math.abs(mExisting - mUnknown)).toBeLessThan(tolerance);

		// Throttling over HTTP: a burst against one account.
		const burst = pick(120, 150);
		let throttled = 0;
		let checked = 0;
		for (let i = 0; i < burst; i++) {
			const r = await postLogin(s, { username: 'manager2', password: `wrong-${i}` });
			const st = actionStatus(r);
			if (st === 429) throttled++;
			else if (st === 401) checked++;
			else throw new Error(`unexpected ${st}: ${r.body.slice(0, 200)}`);
		}
		const right = await postLogin(s, { username: 'manager2', password: DEMO_PASSWORD });
		expect(actionStatus(right)).toBe(429);
		expect(checked).toBeLessThanOrEqual(100);
		expect(throttled).toBeGreaterThanOrEqual(burst - 100);
		figures.add(
			`${burst} failed logins on one account over HTTP: ${throttled} throttled; enumeration: 1 distinct answer, medians ${mExisting.toFixed(0)} vs ${mUnknown.toFixed(0)} ms (tolerance ${tolerance.toFixed(0)} ms)`
		);
	});
});

describe('two processes on one PostgreSQL database', () => {
	let pg: PrivatePostgres | undefined;
	const servers: ProdServer[] = [];
	afterAll(async () => {
		for (const x of servers) await x.stop();
		pg?.destroy();
	});

	it("closes a user's socket on one process at once when they log out or are disabled through the other", async (t) => {
		if (!hasPostgresBinaries(t, (line) => figures.add(line), 'two processes')) return;
		pg = await startPrivatePostgres();
		const env = { DATABASE_URL: pg.url };
		// One after the other: the second finds the demo data the first created.
		const a = await startProdServer({ env });
		servers.push(a);
		const b = await startProdServer({ env });
		servers.push(b);
		const admin = await loginCookie(a, 'admin');
		const list = await fetch(`${a.origin}/api/v1/incidents?limit=5`, { headers: { cookie: admin } });
		const incidentId = ((await list.json()) as { data: { id: string }[] }).data[0]!.id;
		const socketOnB = async (cookie: string) => {
			const res = await tryUpgrade(b.port, `/collab/${incidentId}`, { Origin: b.origin, Cookie: cookie });
			if (!('ws' in res)) throw new Error(`upgrade on the second process refused: ${JSON.stringify(res)}`);
			const peer = new RawPeer(res.ws);
			expect(await peer.barrier()).toBe(true);
			return peer;
		};
		const closedWithin = async (peer: RawPeer, ms: number) =>
			Promise.race([peer.closedPromise, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);

		// Logged in and logged out through the first process; the socket is on the second.
		const manager = await loginCookie(a, 'manager');
		const p1 = await socketOnB(manager);
		let t0 = performance.now();
		const out = await fetch(`${a.origin}/logout`, {
			method: 'POST',
			headers: { cookie: manager, origin: a.origin, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
			body: ''
		});
		expect(await out.json()).toMatchObject({ type: 'redirect', location: '/login?loggedOut' });
		const logoutClose = await closedWithin(p1, 5_000);
		const logoutMs = performance.now() - t0;
		expect(logoutClose?.code).toBe(4401);

		// Logged in through the second process, disabled by an admin through the first.
		const manager2 = await loginCookie(b, 'manager2');
		const p2 = await socketOnB(manager2);
		const users = await import('pg').then(({ default: pgLib }) => new pgLib.Client({ connectionString: pg!.url }));
		await users.connect();
		const { rows } = await users.query<{ id: string }>(`select id from users where username = 'manager2'`);
		await users.end();
		t0 = performance.now();
		const disabled = await fetch(`${a.origin}/admin/users/${rows[0]!.id}`, {
			method: 'POST',
			headers: { cookie: admin, origin: a.origin, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
			body: new URLSearchParams({ disabled: 'on' }).toString()
		});
		expect(disabled.status).toBe(200);
		expect(((await disabled.json()) as { type: string }).type).toBe('success');
		const disableClose = await closedWithin(p2, 5_000);
		const disableMs = performance.now() - t0;
		expect(disableClose?.code).toBe(4401);
		// And the second process refuses the disabled user's session from then on.
		const again = await tryUpgrade(b.port, `/collab/${incidentId}`, { Origin: b.origin, Cookie: manager2 });
		expect('status' in again && again.status).toBe(401);
		figures.add(
			`two processes: a socket on one closed ${logoutMs.toFixed(0)} ms after a logout and ${disableMs.toFixed(0)} ms after a disable through the other`
		);
	});
});
