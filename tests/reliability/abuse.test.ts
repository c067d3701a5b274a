/**
 * Abuse (issue 10): hostile WebSocket frames against the production process while a canary in another
 * room keeps writing; hostile values through the API handlers and the services; stored script payloads
 * escaped in the server-rendered page and the exports. Ends with a figures line.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { createEntry, listEntries, timelineToCsv, timelineToMarkdown, csvCell as timelineCsvCell } from '../../src/lib/collab/incident-doc';
import { changeStatusApi, createIncidentApi, getIncidentApi, listIncidentsApi } from '../../src/lib/server/api/incidents.api';
import { SYSTEM_ACTOR } from '../../src/lib/server/context';
import { encodeUpdate, MESSAGE_SYNC } from '../../src/lib/server/collab/protocol';
import { saveService } from '../../src/lib/server/services/catalogue.service';
import { csvCell } from '../../src/lib/server/services/contacts.service';
import {
	changeStatus,
	declareIncident,
	editIncident,
	listIncidents,
	proposeIncident
} from '../../src/lib/server/services/incident.service';
import { createTestContext, makeUser, type TestContext } from '../helpers/context';
import { Figures, percentile, pick } from './support/profile';
import { loginCookie, startProdServer, type ProdServer } from './support/prod-server';
import { startCanary, tripMs } from './support/canary';
import { RawPeer, tryUpgrade, waitUntil } from './support/ws';

const figures = new Figures('abuse');

function show(v: unknown): string {
	try {
		return typeof v === 'string' ? v.slice(0, 30) : (JSON.stringify(v) ?? typeof v).slice(0, 30);
	} catch {
		return typeof v;
	}
}

afterAll(() => figures.print());

// ---------------------------------------------------------------------------------------------
// 1. Hostile frames against the production process
// ---------------------------------------------------------------------------------------------

function frame(...parts: (number | Uint8Array)[]): Uint8Array {
	const e = encoding.createEncoder();
	for (const p of parts) {
		if (typeof p === 'number') encoding.writeVarUint(e, p);
		else encoding.writeVarUint8Array(e, p);
	}
	return encoding.toUint8Array(e);
}

function randomBytes(n: number): Uint8Array {
	const b = new Uint8Array(n);
	for (let i = 0; i < n; i++) b[i] = Math.floor(Math.random() * 256);
	return b;
}

/** An update that depends on a struct the server will never see: Yjs keeps it pending forever. */
function orphanUpdate(bytes: number): Uint8Array {
	const d = new Y.Doc();
	d.getText('notes').insert(0, 'root');
	const sv = Y.encodeStateVector(d);
	d.getText('notes').insert(2, 'x'.repeat(bytes));
	return Y.encodeStateAsUpdate(d, sv);
}

type Kind = { name: string; make: () => Uint8Array | string; expect: number[] };

const KINDS: Kind[] = [
	{ name: 'empty frame', make: () => new Uint8Array(0), expect: [1007] },
	{ name: 'truncated varint (type)', make: () => new Uint8Array([0x80]), expect: [1007] },
	{ name: 'truncated varint (sync type)', make: () => new Uint8Array([0, 0xff]), expect: [1007] },
	{ name: 'truncated varint (length)', make: () => new Uint8Array([0, 2, 0xff, 0xff, 0xff]), expect: [1007] },
	{ name: 'length beyond the frame', make: () => new Uint8Array([0, 2, 0xe8, 0x07, 1, 2, 3]), expect: [1007] },
	{ name: 'huge varint', make: () => new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), expect: [1007] },
	{ name: 'auth message (2)', make: () => frame(2, 0), expect: [1007] },
	{ name: 'unknown message type', make: () => frame(4 + Math.floor(Math.random() * 90)), expect: [1007] },
	{ name: 'ack sent by a client', make: () => frame(100, 5), expect: [1007] },
	{ name: 'unknown sync type', make: () => frame(MESSAGE_SYNC, 3 + Math.floor(Math.random() * 50), new Uint8Array([0])), expect: [1007] },
	{ name: 'garbage', make: () => randomBytes(1 + Math.floor(Math.random() * 200)), expect: [1007] },
	{ name: 'trailing bytes', make: () => new Uint8Array([...frame(MESSAGE_SYNC, 0, new Uint8Array([0])), 9, 9]), expect: [1007] },
	{ name: 'bad state vector', make: () => frame(MESSAGE_SYNC, 0, new Uint8Array([5, 0xff])), expect: [1007] },
	{ name: 'malformed Yjs update', make: () => frame(MESSAGE_SYNC, 2, randomBytes(8 + Math.floor(Math.random() * 64))), expect: [1007] },
	{ name: 'malformed sync step 2', make: () => frame(MESSAGE_SYNC, 1, new Uint8Array([1, 1, 0xff, 0xff, 0xff, 7, 1])), expect: [1007] },
	{ name: 'malformed awareness', make: () => frame(1, new Uint8Array([3, 0xff, 0xff])), expect: [1007] },
	{
		name: 'awareness with invalid JSON',
		make: () => {
			const e = encoding.createEncoder();
			encoding.writeVarUint(e, 1);
			encoding.writeVarUint(e, 7);
			encoding.writeVarUint(e, 1);
			encoding.writeVarString(e, '{not json');
			return frame(1, encoding.toUint8Array(e));
		},
		expect: [1007]
	},
	{ name: 'text frame', make: () => '{"type":"update","payload":"<script>"}', expect: [1007] }
];
const OVERSIZED: Kind = { name: 'oversized frame (> 1 MiB)', make: () => new Uint8Array(1024 * 1024 + 16), expect: [1009] };

describe('hostile WebSocket frames against the production process', () => {
	let s: ProdServer;
	let cookies: string[];
	let canaryCookie: string;
	let rooms: { canary: string; offenders: string[] };

	beforeAll(async () => {
		s = await startProdServer();
		// Offenders spread over writers (at most 20 sockets each per process); the canary is someone else.
		cookies = [await loginCookie(s, 'admin'), await loginCookie(s, 'manager'), await loginCookie(s, 'manager2')];
		canaryCookie = await loginCookie(s, 'responder');
		const res = await fetch(`${s.origin}/api/v1/incidents?limit=10`, { headers: { cookie: cookies[0]! } });
		const list = ((await res.json()) as { data: { id: string; status: string; members?: unknown }[] }).data;
		const active = list.find((i) => ['investigating', 'identified', 'mitigated'].includes(i.status))!;
		rooms = { canary: active.id, offenders: list.filter((i) => i.id !== active.id).map((i) => i.id) };
		expect(rooms.offenders.length).toBeGreaterThan(0);
	});
	afterAll(async () => {
		await s?.stop();
	});

	it('closes each offender, never the process, while a canary in another room keeps its p99 ≤ 200 ms', async () => {
		const total = pick(2_000, 10_000);
		const concurrency = 6;
		const deadline = Date.now() + pick(240_000, 1_200_000);

		// The canary: a writer in the active incident, one write + round trip every 50 ms, in a thread of
		// its own (support/canary.ts) so its times are the server's, not our attackers' event loop's.
		const canary = startCanary({ port: s.port, room: rooms.canary, cookie: canaryCookie, origin: s.origin, intervalMs: 50, deadline });
		const clock = () => performance.timeOrigin + performance.now();
		const floods: [number, number][] = []; // when pending floods ran, to tell the canary's quiet round trips
		await Promise.race([canary.ready, canary.failed]);
		// Counted line by line as the server writes them (its kept output is capped, 10,000 reasons are not).
		let closeReasonsLogged = 0;
		s.onLine((line) => {
			if (/collab: (bad frame; closing the socket|text frame; closing|socket error|too many pending)/.test(line)) closeReasonsLogged++;
		});

		let sent = 0;
		let sockets = 0;
		const closes = new Map<number, number>();
		const unexpected: string[] = [];
		let refusedUpgrades = 0;
		let pendingFloods = 0;
		let slowestClose = 0;
		const slowCloses: string[] = [];

		async function offender(slot: number): Promise<void> {
			const cookie = cookies[slot % cookies.length]!;
			while (sent < total && Date.now() < deadline) {
				const room = rooms.offenders[sockets % rooms.offenders.length]!;
				const o = await tryUpgrade(s.port, `/collab/${room}`, { Cookie: cookie, Origin: s.origin });
				if (!('ws' in o)) {
					refusedUpgrades++;
					if (refusedUpgrades > 50) throw new Error(`offender upgrades refused: ${JSON.stringify('status' in o ? o.status : o.error)}`);
					await new Promise((r) => setTimeout(r, 50));
					continue;
				}
				sockets++;
				const p = new RawPeer(o.ws);
				let kind: Kind;
				const roll = sockets % 100;
				if (roll === 0) kind = OVERSIZED;
				else kind = KINDS[sockets % KINDS.length]!;
				if (roll === 50 && sockets % 200 === 50) {
					// Valid-looking updates whose dependencies never arrive, until the room's pending budget is spent.
					pendingFloods++;
					const flood: [number, number] = [clock(), Infinity];
					floods.push(flood);
					for (let i = 0; i < 100 && p.open; i++) {
						p.send(encodeUpdate(orphanUpdate(64 * 1024)));
						sent++;
						await new Promise((r) => setTimeout(r, 2));
					}
					await Promise.race([p.closedPromise, new Promise((r) => setTimeout(r, 15_000))]);
					flood[1] = clock();
					kind = { name: 'pending flood', make: () => new Uint8Array(), expect: [1008] };
				} else {
					const bytes = kind.make();
					p.send(bytes, { binary: typeof bytes !== 'string' });
					sent++;
				}
				const t0 = performance.now();
				const info = await Promise.race([p.closedPromise, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))]);
				const closeMs = performance.now() - t0;
				slowestClose = Math.max(slowestClose, closeMs);
				if (closeMs > 2000) slowCloses.push(`${kind.name} ${closeMs.toFixed(0)} ms`);
				if (!info) {
					unexpected.push(`${kind.name}: still open after 15 s`);
					p.close();
				} else {
					closes.set(info.code, (closes.get(info.code) ?? 0) + 1);
					if (!kind.expect.includes(info.code)) unexpected.push(`${kind.name}: closed with ${info.code} ${info.reason}`);
				}
			}
		}
		await Promise.race([Promise.all(Array.from({ length: concurrency }, (_, i) => offender(i))), canary.failed]);
		const measured = await canary.stop();
		const rtts = tripMs(measured.trips);
		const rttsQuiet = tripMs(measured.trips.filter(([a, b]) => floods.every(([fa, fb]) => b < fa || a > fb)));
		const canaryWrites = measured.writes;

		// The process is up, healthy, and the canary's writes were all committed.
		expect(s.proc.exitCode).toBeNull();
		const health = await fetch(`${s.origin}/api/health`);
		expect(health.status).toBe(200);
		expect(measured.acked).toBe(canaryWrites);
		expect(measured.open).toBe(true);

		const closed = [...closes.values()].reduce((a, b) => a + b, 0);
		const logged = closeReasonsLogged;
		const p99 = percentile(rtts, 99);
		const codes = [...closes.entries()]
			.sort()
			.map(([c, n]) => `${n}×${c}`)
			.join(' ');
		figures.add(
			`${sent} hostile frames on ${sockets} sockets, ${closed} closed (${codes}), ${logged} logged reasons, process up; slowest close ${slowestClose.toFixed(0)} ms (${slowCloses.length} over 2 s); canary p99 ${p99.toFixed(0)} ms over ${rtts.length} round trips (${percentile(rttsQuiet, 99).toFixed(0)} ms outside pending floods), ${canaryWrites} writes all acked`
		);
		if (slowCloses.length) console.log(`abuse: slow closes: ${slowCloses.slice(0, 20).join(', ')}`);
		expect(unexpected.slice(0, 20)).toEqual([]);
		expect(sent).toBeGreaterThanOrEqual(total);
		expect(closed).toBe(sockets);
		expect(pendingFloods).toBeGreaterThan(0);
		// Every close has a logged reason (1007 and 1008 by the collab server, 1009 by the socket error).
		expect(logged).toBeGreaterThanOrEqual(closed);
		expect(rtts.length).toBeGreaterThan(20);
		expect(p99).toBeLessThanOrEqual(200);
	});
});

// ---------------------------------------------------------------------------------------------
// 2. Hostile values through the API handlers and the services
// ---------------------------------------------------------------------------------------------

const SCRIPT = '<script>alert("xss")</script>';
const HOSTILE_STRINGS: string[] = [
	SCRIPT,
	'"><img src=x onerror=alert(1)>',
	'javascript:alert(1)',
	"'; drop table incidents; --",
	"' or '1'='1",
	'1; select pg_sleep(5)',
	'\u0000nul',
	'bell\u0007',
	'\u202etxt.exe',
	'line\r\nInjected-Header: x',
	'=HYPERLINK("http://evil.example","click")',
	'+cmd|" /C calc"!A0',
	'@SUM(1+1)',
	'-2+3',
	'\ud800lone surrogate',
	'{{7*7}}${7*7}',
	'../../etc/passwd',
	'🔥'.repeat(50),
	' ',
	'',
	'x'.repeat(201),
	'x'.repeat(20_001),
	'x'.repeat(1_100_000)
];
const HOSTILE_VALUES: unknown[] = [...HOSTILE_STRINGS, 0, -1, 1e308, NaN, true, null, [], [SCRIPT], { $gt: '' }, { toString: 'x' }];

describe('hostile values through the API and the services', () => {
	let ctx: TestContext;
	let manager: Awaited<ReturnType<typeof makeUser>>;
	let incidentId: string;
	const statuses = new Map<number, number>();
	let calls = 0;
	const fiveHundreds: string[] = [];

	beforeAll(async () => {
		ctx = await createTestContext();
		const written: unknown[] = [];
		ctx.collab = {
			appendSystemEntry: async (_id, e) => void written.push(e),
			transact: async () => undefined,
			read: async () => undefined as never
		};
		await saveService(ctx, SYSTEM_ACTOR, { input: { code: 'CORE', nameZh: '核心', nameEn: 'Core', criticality: 'critical' } });
		manager = await makeUser(ctx, { role: 'manager' });
		const r = await declareIncident(ctx, manager.actor, {
			title: 'Base',
			description: 'x',
			impact: 'extensive',
			urgency: 'high',
			services: ['CORE']
		});
		if (!r.ok) throw new Error(r.error.message);
		incidentId = r.value.incident.id;
	});
	afterAll(async () => {
		await ctx?.close();
	});

	function note(label: string, res: Response, body: string) {
		calls++;
		statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
		if (res.status >= 500) fiveHundreds.push(`${label}: ${res.status} ${body.slice(0, 200)}`);
		else if (res.status >= 400) {
			// A clear error: JSON with a code and a message.
			const j = JSON.parse(body) as { error?: { code?: string; message?: string } };
			if (!j.error?.code || !j.error.message) fiveHundreds.push(`${label}: unclear error ${body.slice(0, 200)}`);
		}
	}

	const req = (method: string, p: string, body?: string, type = 'application/json') =>
		new Request(`http://127.0.0.1${p}`, { method, headers: { origin: 'http://127.0.0.1', 'content-type': type }, body });

	it('answers every hostile API request with a clear 4xx or harmless storage, never a 500', async () => {
		const fields = [
			'title',
			'description',
			'impact',
			'urgency',
			'priority',
			'services',
			'detectedAt',
			'source',
			'drill',
			'restricted',
			'dedupeKey',
			'declare',
			'unknownField'
		];
		const valid = { title: 'T', description: 'D', impact: 'extensive', urgency: 'high', services: ['CORE'], declare: true };
		const storedChecks: string[] = [];
		for (const field of fields) {
			for (const value of HOSTILE_VALUES) {
				const body = JSON.stringify({ ...valid, [field]: value });
				const res = await createIncidentApi({ ctx, sessionActor: manager.actor, request: req('POST', '/api/v1/incidents', body) });
				const text = await res.text();
				note(`create ${field}=${show(value)}`, res, text);
				if (res.status < 300 && typeof value === 'string' && (field === 'title' || field === 'description')) {
					// Stored as given (trimmed), not interpreted.
					const data = (JSON.parse(text) as { data: { title: string; description: string } }).data;
					if (data[field].trim() !== data[field] || !value.includes(data[field].trim().slice(0, 10)))
						storedChecks.push(`${field}: ${JSON.stringify(data[field]).slice(0, 80)}`);
				}
			}
		}
		// Bodies that are not what the API expects.
		const bodies: [string, string | undefined, string][] = [
			['invalid JSON', '{"title": ', 'application/json'],
			['JSON array', '[1,2,3]', 'application/json'],
			['JSON string', '"x"', 'application/json'],
			['JSON null', 'null', 'application/json'],
			['empty body', '', 'application/json'],
			['no body', undefined, 'application/json'],
			['form body', 'title=x', 'application/x-www-form-urlencoded'],
			['deep nesting', '['.repeat(100_000) + ']'.repeat(100_000), 'application/json'],
			['huge body', JSON.stringify({ title: 'x'.repeat(5_000_000) }), 'application/json'],
			['proto pollution', '{"__proto__":{"admin":true},"title":"p","impact":"extensive","urgency":"high"}', 'application/json'],
			['NUL in JSON', '{"title":"a\\u0000b","impact":"extensive","urgency":"high"}', 'application/json']
		];
		for (const [label, body, type] of bodies) {
			const res = await createIncidentApi({ ctx, sessionActor: manager.actor, request: req('POST', '/api/v1/incidents', body, type) });
			note(`create ${label}`, res, await res.text());
			const res2 = await changeStatusApi({
				ctx,
				sessionActor: manager.actor,
				id: incidentId,
				request: req('POST', `/api/v1/incidents/${incidentId}/status`, body, type)
			});
			note(`status ${label}`, res2, await res2.text());
		}
		for (const field of ['status', 'reason', 'waiverReason', 'version', 'extra']) {
			for (const value of HOSTILE_VALUES) {
				const res = await changeStatusApi({
					ctx,
					sessionActor: manager.actor,
					id: incidentId,
					request: req(
						'POST',
						`/api/v1/incidents/${incidentId}/status`,
						JSON.stringify({ status: 'identified', [field]: value, ...(field === 'status' ? { status: value } : {}) })
					)
				});
				note(`status ${field}`, res, await res.text());
			}
		}
		for (const value of HOSTILE_STRINGS.slice(0, -1)) {
			const ids = [value];
			try {
				ids.push(encodeURIComponent(value));
			} catch {
				// a lone surrogate cannot be percent-encoded: the raw value is enough
			}
			for (const id of ids) {
				const res = await getIncidentApi({ ctx, sessionActor: manager.actor, id, request: req('GET', '/api/v1/incidents/x') });
				note(`get ${id.slice(0, 30)}`, res, await res.text());
			}
			for (const param of ['q', 'status', 'priority', 'service', 'limit', 'mine', 'drill', 'restricted']) {
				const url = `/api/v1/incidents?${new URLSearchParams({ [param]: value }).toString()}`;
				const res = await listIncidentsApi({ ctx, sessionActor: manager.actor, request: req('GET', url) });
				note(`list ${param}`, res, await res.text());
			}
		}
		// The database is intact and searchable after all of that.
		const after = await listIncidents(ctx, manager.actor, { q: "'; drop table incidents; --" });
		const byStatus = [...statuses.entries()]
			.sort()
			.map(([c, n]) => `${n}×${c}`)
			.join(' ');
		figures.add(`${calls} hostile API requests: ${byStatus}`);
		expect(after.ok).toBe(true);
		expect(fiveHundreds).toEqual([]);
		expect(storedChecks).toEqual([]);
	});

	it('never throws from the services on hostile input', async () => {
		let serviceCalls = 0;
		const thrown: string[] = [];
		const run = async (label: string, f: () => Promise<unknown>) => {
			serviceCalls++;
			try {
				await f();
			} catch (e) {
				thrown.push(`${label}: ${(e as Error).message.slice(0, 160)}`);
			}
		};
		for (const value of HOSTILE_VALUES) {
			const label = show(value);
			await run(`propose title ${label}`, () =>
				proposeIncident(ctx, manager.actor, { title: value, impact: 'extensive', urgency: 'high' })
			);
			await run(`propose services ${label}`, () =>
				proposeIncident(ctx, manager.actor, { title: 'x', impact: 'extensive', urgency: 'high', services: value })
			);
			await run(`propose detectedAt ${label}`, () =>
				proposeIncident(ctx, manager.actor, { title: 'x', impact: 'extensive', urgency: 'high', detectedAt: value })
			);
			await run(`propose impact ${label}`, () => proposeIncident(ctx, manager.actor, { title: 'x', impact: value, urgency: value }));
			await run(`edit ${label}`, () =>
				editIncident(ctx, manager.actor, { incidentId, input: { title: value, description: value } as never, expectedVersion: value })
			);
			await run(`status ${label}`, () =>
				changeStatus(ctx, manager.actor, { incidentId, to: value, reason: value, expectedVersion: value })
			);
			// Typed parameters (ids from the URL, the search box) get strings only, as the routes pass them.
			if (typeof value === 'string') {
				await run(`status on id ${label}`, () => changeStatus(ctx, manager.actor, { incidentId: value, to: 'identified' }));
				await run(`list q ${label}`, () => listIncidents(ctx, manager.actor, { q: value }));
			}
		}
		figures.add(`${serviceCalls} hostile service calls, ${thrown.length} threw`);
		expect(thrown).toEqual([]);
	});

	it('escapes script payloads in the Markdown and CSV exports and neutralises formulas', () => {
		const doc = new Y.Doc();
		for (const [i, text] of HOSTILE_STRINGS.slice(0, 17).entries())
			createEntry(doc, {
				id: randomUUID(),
				at: `2026-11-23T08:${String(i).padStart(2, '0')}:00Z`,
				recordedAt: '2026-11-23T08:00:00Z',
				kind: 'note',
				text,
				author: 'u',
				authorName: SCRIPT
			});
		const entries = listEntries(doc);
		const md = timelineToMarkdown(entries, { title: SCRIPT });
		expect(md).not.toMatch(/(?<!\\)<(script|img)/i); // `\<` is a literal `<` in Markdown, never a tag
		const csv = timelineToCsv(entries);
		for (const line of csv.split(/\r?\n/).slice(1)) {
			// No cell starts with a formula character unless quoted away.
			for (const cell of line.split(',')) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+@]/);
		}
		for (const v of ['=1+1', '+1', '-1', '@x', '\t=1', SCRIPT, 'a,b', 'a"b', 'a\nb']) {
			for (const f of [csvCell, timelineCsvCell]) {
				const c = f(v);
				expect(c.replace(/^"/, '')).not.toMatch(/^[=+\-@\t]/);
				if (/[",\n]/.test(v)) expect(c.startsWith('"') && c.endsWith('"')).toBe(true);
			}
		}
		figures.add(`${entries.length} hostile timeline entries exported to Markdown and CSV: no markup, no formulas`);
	});
});

// ---------------------------------------------------------------------------------------------
// 3. Stored script payloads come back escaped in the server-rendered page and the exports (production)
// ---------------------------------------------------------------------------------------------

describe('stored script payloads on the production build', () => {
	let s: ProdServer;
	beforeAll(async () => {
		s = await startProdServer();
	});
	afterAll(async () => {
		await s?.stop();
	});

	it('renders them escaped in the incident page, its timeline, the contact list CSV and the incident list', async () => {
		const cookie = await loginCookie(s, 'manager');
		const marker = `xss${randomUUID().slice(0, 8)}`;
		const title = `<script>alert("${marker}")</script>`;
		const description = `<img src=x onerror=alert("${marker}")> ${'`'}${'${'}alert(1)}${'`'}`;
		const res = await fetch(`${s.origin}/api/v1/incidents`, {
			method: 'POST',
			headers: { cookie, origin: s.origin, 'content-type': 'application/json' },
			body: JSON.stringify({ title, description, impact: 'extensive', urgency: 'high', declare: true, services: [] })
		});
		const created = (await res.json()) as { data?: { id: string } };
		expect(res.status, JSON.stringify(created).slice(0, 300)).toBeLessThan(300);
		const id = created.data!.id;
		// A hostile timeline entry written through the socket like any client would.
		const o = await tryUpgrade(s.port, `/collab/${id}?acks=1`, { Cookie: cookie, Origin: s.origin });
		if (!('ws' in o)) throw new Error('socket refused');
		const p = new RawPeer(o.ws);
		await p.barrier();
		const d = new Y.Doc();
		createEntry(d, {
			id: randomUUID(),
			at: new Date().toISOString(),
			recordedAt: new Date().toISOString(),
			kind: 'note',
			text: `<script>alert("${marker}-tl")</script>`,
			author: null,
			authorName: `<b onmouseover=alert("${marker}")>x</b>`
		});
		p.send(encodeUpdate(Y.encodeStateAsUpdate(d)));
		await waitUntil(() => p.acked >= 1, 5000);
		p.close();

		const pages = [`/incidents/${id}`, '/incidents', '/', `/incidents/${id}/contacts.csv`, `/board`];
		const leaks: string[] = [];
		for (const page of pages) {
			const r = await fetch(`${s.origin}${page}`, { headers: { cookie } });
			const html = await r.text();
			expect(r.status, page).toBeLessThan(500);
			for (const raw of [`<script>alert("${marker}`, `<img src=x onerror=alert("${marker}`, `<b onmouseover=alert("${marker}`])
				if (html.includes(raw)) leaks.push(`${page}: ${raw}`);
		}
		const page = await (await fetch(`${s.origin}/incidents/${id}`, { headers: { cookie } })).text();
		expect(page).toContain(marker); // it is there, as text
		expect(leaks).toEqual([]);
		figures.add(`stored payloads escaped on ${pages.length} server-rendered pages and exports`);
	});
});

// ---------------------------------------------------------------------------------------------
// 4. Playbook files with every kind of error: covered by the fixture tests
// ---------------------------------------------------------------------------------------------

describe('broken playbook files', () => {
	it('are covered by the fixture tests (referenced, not duplicated)', () => {
		const root = path.resolve(import.meta.dirname, '../..');
		const broken = fs.readdirSync(path.join(root, 'tests/fixtures/playbooks/broken'));
		const users = [
			'src/lib/domain/playbook.spec.ts',
			'src/lib/domain/playbook-schema.spec.ts',
			'tests/integration/playbooks.test.ts'
		].filter((f) => fs.existsSync(path.join(root, f)));
		const tests = users.reduce((n, f) => n + (fs.readFileSync(path.join(root, f), 'utf8').match(/\bit(\.each)?\(/g) ?? []).length, 0);
		expect(broken.length).toBeGreaterThan(10);
		figures.add(`${broken.length} broken playbook fixtures exercised by ${tests} tests in ${users.join(', ')}`);
	});
});
