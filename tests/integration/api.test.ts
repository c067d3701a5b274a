import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequest, setResponse } from '@sveltejs/kit/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeStatusApi, createIncidentApi, getIncidentApi, listIncidentsApi } from '../../src/lib/server/api/incidents.api';
import { openApiDocument } from '../../src/lib/server/api/openapi';
import { MAX_BODY_BYTES } from '../../src/lib/server/api/respond';
import { SYSTEM_ACTOR, type Actor } from '../../src/lib/server/context';
import { authenticateBearer, createApiToken, listApiTokens, revokeApiToken } from '../../src/lib/server/services/api-token.service';
import { verifyChain } from '../../src/lib/server/services/audit.service';
import { saveService } from '../../src/lib/server/services/catalogue.service';
import { addMember } from '../../src/lib/server/services/membership.service';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';

const ORIGIN = 'https://warroom.example.test';
let ctx: TestContext;
let admin: Awaited<ReturnType<typeof makeUser>>;
let manager: Awaited<ReturnType<typeof makeUser>>;
let responder: Awaited<ReturnType<typeof makeUser>>;
let outsider: Awaited<ReturnType<typeof makeUser>>;
let managerToken: string, responderToken: string, readOnlyToken: string, writeOnlyToken: string, revokedToken: string;

function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
	return r.value;
}

function request(
	path: string,
	opts: { method?: string; token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}
): Request {
	const headers: Record<string, string> = { ...opts.headers };
	if (opts.token) headers.authorization = `Bearer ${opts.token}`;
	let body: string | undefined = opts.raw;
	if (opts.body !== undefined) {
		body = JSON.stringify(opts.body);
		headers['content-type'] ??= 'application/json';
	}
	return new Request(`${ORIGIN}/api/v1${path}`, { method: opts.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body });
}

async function call(
	fn: (req: { ctx: TestContext; request: Request; sessionActor: Actor | null }) => Promise<Response>,
	req: Request,
	sessionActor: Actor | null = null
) {
	const res = await fn({ ctx, request: req, sessionActor });
	const text = await res.text();
	expect(res.headers.get('content-type')).toContain('application/json');
	return { status: res.status, body: JSON.parse(text) as any, headers: res.headers };
}

const create = (req: Request, actor: Actor | null = null) => call(createIncidentApi, req, actor);
const list = (req: Request, actor: Actor | null = null) => call(listIncidentsApi, req, actor);
const get = (id: string, req: Request, actor: Actor | null = null) => call((r) => getIncidentApi({ ...r, id }), req, actor);
const status = (id: string, req: Request, actor: Actor | null = null) => call((r) => changeStatusApi({ ...r, id }), req, actor);

const alert = { title: '核心银行系统响应缓慢', impact: 'extensive', urgency: 'high', services: ['CORE-BANKING'], source: 'monitoring' };

beforeAll(async () => {
	ctx = await createTestContext();
	must(
		await saveService(ctx, SYSTEM_ACTOR, {
			input: { code: 'CORE-BANKING', nameZh: '核心银行系统', nameEn: 'Core banking', criticality: 'critical' }
		})
	);
	admin = await makeUser(ctx, { role: 'admin' });
	manager = await makeUser(ctx, { role: 'manager', displayName: 'Zabbix (manager)' });
	responder = await makeUser(ctx, { role: 'responder' });
	outsider = await makeUser(ctx, { role: 'responder' });
	const mk = async (name: string, userId: string, scopes: string[]) =>
		must(await createApiToken(ctx, admin.actor, { name, userId, scopes })).token;
	managerToken = await mk('zabbix', manager.id, ['incidents:read', 'incidents:write']);
	responderToken = await mk('prometheus', responder.id, ['incidents:read', 'incidents:write']);
	readOnlyToken = await mk('dashboard', manager.id, ['incidents:read']);
	writeOnlyToken = await mk('alerts-only', manager.id, ['incidents:write']);
	revokedToken = await mk('old', manager.id, ['incidents:read', 'incidents:write']);
});

afterAll(async () => {
	await ctx?.close();
});

describe(`API tokens on ${dbLabel}`, () => {
	it('are created by admins only, shown once, stored hashed and revocable', async () => {
		const byManager = await createApiToken(ctx, manager.actor, { name: 'x', scopes: ['incidents:read'] });
		expect(!byManager.ok && byManager.error.code).toBe('forbidden');
		const bad = await createApiToken(ctx, admin.actor, { name: '', scopes: ['incidents:delete'], userId: 'nobody' });
		expect(!bad.ok && 'errors' in bad.error && bad.error.errors.map((e) => e.field).sort()).toEqual(['name', 'scopes', 'userId']);
		const tokens = must(await listApiTokens(ctx, admin.actor));
		expect(tokens.find((t) => t.name === 'zabbix')).toMatchObject({
			scopes: ['incidents:read', 'incidents:write'],
			user: { id: manager.id }
		});
		expect(JSON.stringify(tokens)).not.toContain(managerToken.split('.')[1]);
		const stored = await ctx.db.selectFrom('api_tokens').selectAll().execute();
		expect(stored.every((row) => !new TextDecoder().decode(row.secret_hash).includes(managerToken.split('.')[1]!))).toBe(true);
		const oldId = revokedToken.split('.')[0]!;
		must(await revokeApiToken(ctx, admin.actor, { tokenId: oldId }));
		const twice = await revokeApiToken(ctx, admin.actor, { tokenId: oldId });
		expect(!twice.ok && twice.error.code).toBe('conflict');
		const auth = await authenticateBearer(ctx, `Bearer ${managerToken}`);
		expect(auth.ok && auth.value).toMatchObject({
			userId: manager.id,
			globalRole: 'manager',
			scopes: ['incidents:read', 'incidents:write']
		});
		const wrongSecret = await authenticateBearer(ctx, `Bearer ${managerToken.split('.')[0]}.${'a'.repeat(24)}`);
		expect(!wrongSecret.ok && wrongSecret.error.code).toBe('unauthenticated');
	});
});

describe(`the incidents API on ${dbLabel}`, () => {
	let incidentId = '';

	it('refuses calls without credentials, with a malformed or revoked token', async () => {
		expect((await list(request('/incidents'))).status).toBe(401);
		const malformed = await list(request('/incidents', { headers: { authorization: 'Bearer nope' } }));
		expect(malformed).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
		expect(malformed.headers.get('www-authenticate')).toContain('Bearer');
		const basic = await list(request('/incidents', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }));
		expect(basic.status).toBe(401);
		const revoked = await create(request('/incidents', { token: revokedToken, body: alert }));
		expect(revoked).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated', message: 'The token has been revoked' } } });
		// A bad token is not rescued by a session cookie.
		expect((await list(request('/incidents', { headers: { authorization: 'Bearer x' } }), manager.actor)).status).toBe(401);
	});

	it('declares with a manager token (201 + Location) and proposes with a responder token', async () => {
		const declared = await create(
			request('/incidents', { token: managerToken, body: { ...alert, declare: true, detectedAt: '2026-01-02T08:30:00+08:00' } })
		);
		expect(declared.status).toBe(201);
		expect(declared.body.created).toBe(true);
		expect(declared.body.data).toMatchObject({
			status: 'investigating',
			priority: 'P1',
			source: 'monitoring',
			services: [{ code: 'CORE-BANKING' }]
		});
		expect(declared.body.data.times.detectedAt).toBe('2026-01-02T00:30:00.000Z');
		expect(declared.headers.get('location')).toBe(`/api/v1/incidents/${declared.body.data.id}`);
		incidentId = declared.body.data.id;

		const proposed = await create(
			request('/incidents', { token: responderToken, body: { ...alert, title: 'Card auth slow', source: undefined } })
		);
		expect(proposed.status).toBe(201);
		expect(proposed.body.data).toMatchObject({ status: 'proposed', source: 'api' });
		const responderDeclares = await create(request('/incidents', { token: responderToken, body: { ...alert, declare: true } }));
		expect(responderDeclares).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
	});

	it('answers an oversized body over a real socket with 413 JSON, not a reset (as adapter-node serves it)', async () => {
		// adapter-node's request stream with its default BODY_SIZE_LIMIT (512 kB); the handler as routed.
		const server = http.createServer(async (req, res) => {
			const request = await getRequest({ request: req, base: 'http://127.0.0.1', bodySizeLimit: 512 * 1024 });
			await setResponse(res, await createIncidentApi({ ctx, request, sessionActor: null }));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/incidents`;
		try {
			const headers = { authorization: `Bearer ${managerToken}`, 'content-type': 'application/json' };
			// Above our limit (declared, then chunked without a length), and above adapter-node's.
			for (const size of [200_000, 600_000]) {
				const body = JSON.stringify({ ...alert, description: 'x'.repeat(size) });
				const res = await fetch(url, { method: 'POST', headers, body });
				expect(res.status, `${size} bytes`).toBe(413);
				expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
				const chunks = new ReadableStream({
					start(c) {
						c.enqueue(new TextEncoder().encode(body));
						c.close();
					}
				});
				const chunked = await fetch(url, { method: 'POST', headers, body: chunks, duplex: 'half' } as RequestInit);
				expect(chunked.status, `${size} bytes chunked`).toBe(413);
				expect(await chunked.json()).toMatchObject({ error: { code: 'payload_too_large' } });
			}
			// The connection is still good for the next call.
			const ok = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ ...alert, title: 'After a big body' }) });
			expect(ok.status).toBeLessThan(300);
		} finally {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		}
	});

	it('answers bad input with 4xx JSON naming the field, never a 500', async () => {
		const badJson = await create(
			request('/incidents', { token: managerToken, raw: '{"title": ', headers: { 'content-type': 'application/json' } })
		);
		expect(badJson).toMatchObject({ status: 400, body: { error: { code: 'bad_json' } } });
		const notObject = await create(request('/incidents', { token: managerToken, body: [alert] }));
		expect(notObject).toMatchObject({ status: 400, body: { error: { code: 'bad_json' } } });
		const form = await create(
			request('/incidents', { token: managerToken, raw: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
		);
		expect(form).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type' } } });
		const huge = await create(request('/incidents', { token: managerToken, body: { ...alert, description: 'x'.repeat(MAX_BODY_BYTES) } }));
		expect(huge).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
		// A lying (absent) content length is caught while reading.
		const stream = new ReadableStream({
			start(c) {
				for (let i = 0; i < 80; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1024)));
				c.close();
			}
		});
		const chunked = new Request(`${ORIGIN}/api/v1/incidents`, {
			method: 'POST',
			headers: { authorization: `Bearer ${managerToken}`, 'content-type': 'application/json' },
			body: stream,
			duplex: 'half'
		} as RequestInit);
		expect((await create(chunked)).status).toBe(413);

		const fields = await create(
			request('/incidents', {
				token: managerToken,
				body: {
					title: 42,
					impact: 'huge',
					urgency: 'high',
					priority: 'P9',
					services: ['CORE-BANKING', 'NO-SUCH-SERVICE'],
					detectedAt: 'yesterday',
					drill: 'yes',
					colour: 'red'
				}
			})
		);
		expect(fields.status).toBe(400);
		const paths = fields.body.error.fields.map((f: { path: string }) => f.path);
		expect(paths).toEqual(expect.arrayContaining(['colour', 'drill']));
		const second = await create(
			request('/incidents', {
				token: managerToken,
				body: {
					title: 42,
					impact: 'huge',
					urgency: 'high',
					priority: 'P9',
					services: ['CORE-BANKING', 'NO-SUCH-SERVICE'],
					detectedAt: 'yesterday'
				}
			})
		);
		expect(second.status).toBe(400);
		const byPath = Object.fromEntries(second.body.error.fields.map((f: { path: string; code: string }) => [f.path, f.code]));
		expect(byPath).toMatchObject({
			title: 'invalid_type',
			impact: 'invalid_value',
			priority: 'invalid_value',
			'services[1]': 'unknown_service',
			detectedAt: 'invalid_format'
		});
		const mismatch = await create(request('/incidents', { token: managerToken, body: { ...alert, priority: 'P3' } }));
		expect(mismatch.body.error.fields).toEqual([expect.objectContaining({ path: 'priority', code: 'priority_mismatch' })]);

		const badQuery = await list(
			request('/incidents?priority=P1,P7&status=open,weird&limit=0&mine=perhaps&service=NOPE', { token: managerToken })
		);
		expect(badQuery.status).toBe(400);
		expect(badQuery.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual([
			'limit',
			'mine',
			'priority[1]',
			'service',
			'status[1]'
		]);

		const noStatus = await status(
			incidentId,
			request(`/incidents/${incidentId}/status`, { token: managerToken, body: { to: 'resolved' } })
		);
		expect(noStatus.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual(['status', 'to']);
		const unknownId = await get('not-an-id', request('/incidents/not-an-id', { token: managerToken }));
		expect(unknownId).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
	});

	it('changes status through the state machine: illegal moves are 409 with the allowed ones', async () => {
		const illegal = await status(
			incidentId,
			request(`/incidents/${incidentId}/status`, { token: managerToken, body: { status: 'closed' } })
		);
		expect(illegal).toMatchObject({ status: 409, body: { error: { code: 'illegal_transition' } } });
		expect(illegal.body.error.message).toContain('allowed: identified, mitigated, resolved');
		const current = await get(incidentId, request(`/incidents/${incidentId}`, { token: managerToken }));
		const ok = await status(
			incidentId,
			request(`/incidents/${incidentId}/status`, {
				token: writeOnlyToken,
				body: { status: 'identified', version: current.body.data.version }
			})
		);
		expect(ok.status).toBe(200);
		expect(ok.body.data.status).toBe('identified');
		const stale = await status(
			incidentId,
			request(`/incidents/${incidentId}/status`, { token: managerToken, body: { status: 'mitigated', version: current.body.data.version } })
		);
		expect(stale).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
		const byNumber = await get(ok.body.data.number, request(`/incidents/${ok.body.data.number}`, { token: readOnlyToken }));
		expect(byNumber.body.data.id).toBe(incidentId);
	});

	it('enforces token scopes', async () => {
		const readOnlyWrite = await create(request('/incidents', { token: readOnlyToken, body: alert }));
		expect(readOnlyWrite).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
		expect(readOnlyWrite.body.error.message).toContain('incidents:write');
		const writeOnlyRead = await list(request('/incidents', { token: writeOnlyToken }));
		expect(writeOnlyRead.status).toBe(403);
		const writeOnlyGet = await get(incidentId, request(`/incidents/${incidentId}`, { token: writeOnlyToken }));
		expect(writeOnlyGet.status).toBe(403);
	});

	it('lands a repeating alert on the same open incident (dedupeKey or Idempotency-Key)', async () => {
		const first = await create(
			request('/incidents', { token: managerToken, body: { ...alert, declare: true }, headers: { 'idempotency-key': 'zabbix:event:4711' } })
		);
		expect(first.status).toBe(201);
		const again = await create(
			request('/incidents', { token: managerToken, body: { ...alert, declare: true }, headers: { 'idempotency-key': 'zabbix:event:4711' } })
		);
		expect(again.status).toBe(200);
		expect(again.body).toMatchObject({ created: false, data: { id: first.body.data.id, repeatCount: 1 } });
		expect(again.headers.get('location')).toBeNull();
		const byField = await create(request('/incidents', { token: responderToken, body: { ...alert, dedupeKey: 'zabbix:event:4711' } }));
		expect(byField.status).toBe(200);
		expect(byField.body.data.id).toBe(first.body.data.id);
		const emptyKey = await create(request('/incidents', { token: managerToken, body: alert, headers: { 'idempotency-key': ' ' } }));
		expect(emptyKey.body.error.fields[0].path).toBe('Idempotency-Key');
	});

	it("accepts the session cookie with the user's permissions, and only same-origin for changes", async () => {
		const noOrigin = await create(request('/incidents', { body: { ...alert, declare: true } }), manager.actor);
		expect(noOrigin).toMatchObject({ status: 403, body: { error: { code: 'cross_origin' } } });
		const otherOrigin = await create(
			request('/incidents', { body: { ...alert, declare: true }, headers: { origin: 'https://evil.example' } }),
			manager.actor
		);
		expect(otherOrigin.status).toBe(403);
		const sameOrigin = await create(
			request('/incidents', { body: { ...alert, declare: true }, headers: { origin: ORIGIN } }),
			manager.actor
		);
		expect(sameOrigin.status).toBe(201);
		expect(sameOrigin.body.data.source).toBe('monitoring');
		// Reads need no Origin (a GET changes nothing).
		const read = await list(request('/incidents?status=active'), responder.actor);
		expect(read.status).toBe(200);
		const stat = await status(incidentId, request(`/incidents/${incidentId}/status`, { body: { status: 'mitigated' } }), manager.actor);
		expect(stat.status).toBe(403);
	});

	it('keeps restricted incidents away from non-members on list, search, get and status', async () => {
		const secret = await create(
			request('/incidents', { token: managerToken, body: { ...alert, title: 'SIEM: ransomware beacon', declare: true, restricted: true } })
		);
		expect(secret.status).toBe(201);
		const id = secret.body.data.id;
		must(await addMember(ctx, manager.actor, { incidentId: id, userId: responder.id, role: 'technical_lead' }));
		const outsiderToken = must(
			await createApiToken(ctx, admin.actor, { name: 'outsider', userId: outsider.id, scopes: ['incidents:read', 'incidents:write'] })
		).token;
		const ids = (r: { body: { data: { id: string }[] } }) => r.body.data.map((i) => i.id);
		expect(ids(await list(request('/incidents', { token: outsiderToken })))).not.toContain(id);
		expect(ids(await list(request('/incidents?q=ransomware', { token: outsiderToken })))).toEqual([]);
		expect(ids(await list(request('/incidents?restricted=true', { token: outsiderToken })))).toEqual([]);
		expect((await get(id, request(`/incidents/${id}`, { token: outsiderToken }))).status).toBe(404);
		expect((await get(secret.body.data.number, request(`/incidents/${secret.body.data.number}`, { token: outsiderToken }))).status).toBe(
			404
		);
		expect((await status(id, request(`/incidents/${id}/status`, { token: outsiderToken, body: { status: 'resolved' } }))).status).toBe(404);
		expect(ids(await list(request('/incidents?q=ransomware', { token: responderToken })))).toEqual([id]);
		expect((await get(id, request(`/incidents/${id}`, { token: responderToken }))).status).toBe(200);
		expect(ids(await list(request('/incidents?q=ransomware'), admin.actor))).toEqual([id]);
	});

	it('describes itself as OpenAPI 3.1 with every path the handlers serve', () => {
		expect(openApiDocument.openapi).toBe('3.1.0');
		expect(Object.keys(openApiDocument.paths).sort()).toEqual(['/incidents', '/incidents/{id}', '/incidents/{id}/status']);
		const json = JSON.parse(JSON.stringify(openApiDocument));
		const refs = JSON.stringify(json).match(/#\/components\/(schemas|responses)\/\w+/g) ?? [];
		for (const r of refs) {
			const [, , kind, name] = r.split('/');
			expect(json.components[kind!][name!], r).toBeDefined();
		}
	});

	it('leaves an intact audit chain', async () => {
		expect(await verifyChain(ctx.db)).toMatchObject({ ok: true });
	});
});
