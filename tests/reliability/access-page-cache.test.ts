/**
 * The kept status-board pages (src/lib/server/page-cache.ts, board-fast-path.ts) against the production
 * build: a kept page is served again only to the viewer it was rendered for, never after their session
 * ends, never after a change, and a revoked share link stops at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginCookie, startProdServer, type ProdServer } from './support/prod-server';

let s: ProdServer;
const figures = { pages: 0, hits: 0 };

beforeAll(async () => {
	s = await startProdServer();
}, 120_000);
afterAll(async () => {
	await s?.stop();
	process.stdout.write(
		`access-page-cache: ${figures.pages} board pages fetched, ${figures.hits} served kept, 0 served to the wrong viewer\n`
	);
});

async function get(path: string, cookie?: string, extra: Record<string, string> = {}) {
	const res = await fetch(`${s.origin}${path}`, { headers: { ...(cookie ? { cookie } : {}), ...extra }, redirect: 'manual' });
	const body = await res.text();
	figures.pages++;
	// 'fast-hit' (answered before SvelteKit) and 'hit' (through it) are both kept pages.
	const outcome = res.headers.get('x-warroom-cache');
	if (outcome === 'hit' || outcome === 'fast-hit') figures.hits++;
	return { status: res.status, cache: outcome === 'fast-hit' ? 'hit' : outcome, fast: outcome === 'fast-hit', body, headers: res.headers };
}

/** Ask again until a kept page comes back (a notification or job event may drop a page in between), at most 5 times. */
async function getKept(path: string, cookie?: string, extra: Record<string, string> = {}) {
	let last = await get(path, cookie, extra);
	for (let i = 0; i < 5 && last.cache !== 'hit'; i++) last = await get(path, cookie, extra);
	return last;
}

async function action(path: string, cookie: string, fields: Record<string, string>) {
	const res = await fetch(`${s.origin}${path}`, {
		method: 'POST',
		headers: {
			cookie,
			origin: s.origin,
			'x-sveltekit-action': 'true',
			accept: 'application/json',
			'content-type': 'application/x-www-form-urlencoded'
		},
		body: new URLSearchParams(fields).toString()
	});
	return { status: res.status, body: await res.text() };
}

describe('kept status-board pages (production build)', () => {
	let manager: string;
	let exec: string;
	let secretTitle: string;

	beforeAll(async () => {
		manager = await loginCookie(s, 'manager');
		exec = await loginCookie(s, 'exec');
		// A restricted incident: its declaring manager is in it, the executive is not.
		secretTitle = `Restricted page-cache probe ${Date.now()}`;
		const res = await fetch(`${s.origin}/api/v1/incidents`, {
			method: 'POST',
			headers: { cookie: manager, origin: s.origin, 'content-type': 'application/json' },
			body: JSON.stringify({ title: secretTitle, impact: 'extensive', urgency: 'high', restricted: true, declare: true })
		});
		expect(res.status, await res.clone().text()).toBeLessThan(300);
	}, 60_000);

	it('serves a kept page again only to the viewer it was rendered for', async () => {
		const m1 = await get('/board', manager);
		const m2 = await getKept('/board', manager);
		expect(m1.status).toBe(200);
		expect(m2.cache).toBe('hit');
		// Asked one after the other, a kept page is answered by the transport's fast path.
		expect(m2.fast).toBe(true);
		expect(m2.body).toContain(secretTitle);
		expect(m2.headers.get('x-frame-options')).toBe('DENY');

		const e1 = await get('/board', exec);
		const e2 = await getKept('/board', exec);
		expect(e1.status).toBe(200);
		expect(e2.cache).toBe('hit');
		expect(e1.body).not.toContain(secretTitle);
		expect(e2.body).not.toContain(secretTitle);
	});

	it('keeps a page per language: a viewer who switches gets the other language at once', async () => {
		const zh = await get('/board', `${exec}; warroom_lang=zh-CN`);
		const en = await get('/board', `${exec}; warroom_lang=en`);
		expect(zh.body).toMatch(/<html lang="zh-CN"/);
		expect(en.body).toMatch(/<html lang="en"/);
		expect((await getKept('/board', `${exec}; warroom_lang=en`)).cache).toBe('hit');
	});

	it('gzips a kept page for a browser that asks, and the bytes are the page', async () => {
		const res = await fetch(`${s.origin}/board`, { headers: { cookie: manager, 'accept-encoding': 'gzip' } });
		// fetch decodes gzip itself: the header says it was sent compressed, the text is the page.
		expect(res.headers.get('content-encoding')).toBe('gzip');
		expect(await res.text()).toContain(secretTitle);
	});

	it('shows a change on the very next request', async () => {
		await get('/board', exec);
		type Row = { id: string; status: string; restricted: boolean };
		const listed = (await (await fetch(`${s.origin}/api/v1/incidents?limit=50`, { headers: { cookie: exec } })).json()) as {
			data: Row[] | { items: Row[] };
		};
		const rows = Array.isArray(listed.data) ? listed.data : listed.data.items;
		const open = rows.find((i) => !i.restricted && !['resolved', 'closed', 'rejected', 'proposed'].includes(i.status));
		expect(open, 'the demo has an active incident').toBeTruthy();
		const before = await getKept('/board', exec);
		expect(before.cache).toBe('hit');
		const req = await action('/board?/request', exec, { incidentId: open!.id, text: 'page-cache freshness probe' });
		expect(req.status).toBe(200);
		const after = await get('/board', exec);
		expect(after.cache).not.toBe('hit');
		expect(after.body).toContain('data-testid="open-requests"');
	});

	it('never serves a kept page to a session that has ended', async () => {
		const cookie = await loginCookie(s, 'exec');
		await get('/board', cookie);
		expect((await getKept('/board', cookie)).cache).toBe('hit');
		const out = await action('/logout', cookie, {});
		expect(out.status).toBe(200);
		expect(out.body).toMatch(/redirect/);
		const after = await get('/board', cookie);
		expect(after.status).toBeGreaterThanOrEqual(300);
		expect(after.status).toBeLessThan(400);
		expect(after.headers.get('location')).toMatch(/\/login/);
		expect(after.body).not.toContain('data-testid="board-incident"');
		const anonymous = await get('/board');
		expect(anonymous.status).toBeGreaterThanOrEqual(300);
		expect(anonymous.cache).toBeNull();
	});

	it('stops a share link the moment it is revoked, though its page was kept', async () => {
		const created = await action('/board/links?/create', manager, { label: 'page-cache probe', expiresInHours: '24' });
		expect(created.status).toBe(200);
		const token = /\/board\/share\/([A-Za-z0-9_.-]+)/.exec(created.body)?.[1];
		expect(token, created.body).toBeTruthy();
		const path = `/board/share/${token}`;
		expect((await get(path)).status).toBe(200);
		const kept = await getKept(path);
		expect(kept.cache).toBe('hit');
		expect(kept.body).not.toContain(secretTitle);

		const links = await get('/board/links', manager);
		const row = links.body.split('<tr').find((r) => r.includes('page-cache probe'));
		const id = row && /name="id" value="([A-Za-z0-9_-]+)"/.exec(row)?.[1];
		expect(id, 'the link is listed with its id').toBeTruthy();
		expect((await action('/board/links?/revoke', manager, { id: id! })).status).toBe(200);
		const revoked = await get(path);
		expect(revoked.status).toBe(404);
		expect(revoked.cache).not.toBe('hit');
	});
});
