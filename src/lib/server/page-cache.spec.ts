import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EventBus } from './events';
import { acceptsGzip, boardPageKey, isBoardPage, PageCache } from './page-cache';

function setup(maxAgeMs = 1000) {
	const events = new EventBus();
	let now = 1_000_000;
	const cache = new PageCache(events, { maxAgeMs, sessionCookie: 'sid', now: () => now });
	let renders = 0;
	const page = (body: string, init: ResponseInit = {}) => {
		return async () => {
			renders++;
			return new Response(body, { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, ...init });
		};
	};
	return {
		events,
		cache,
		page,
		renders: () => renders,
		advance: (ms: number) => (now += ms)
	};
}

const alice = { key: '/board\nalice', userId: 'alice', acceptsGzip: false };
const bob = { key: '/board\nbob', userId: 'bob', acceptsGzip: false };

describe('rendered page cache', () => {
	it('serves a kept page to the same viewer without rendering again, until it is too old', async () => {
		const t = setup(1000);
		const first = await t.cache.serve(alice, t.page('<p>v1</p>'));
		expect(first.headers.get('x-warroom-cache')).toBe('miss');
		expect(await first.text()).toBe('<p>v1</p>');
		const second = await t.cache.serve(alice, t.page('<p>v2</p>'));
		expect(second.headers.get('x-warroom-cache')).toBe('hit');
		expect(await second.text()).toBe('<p>v1</p>');
		expect(second.headers.get('content-type')).toBe('text/html; charset=utf-8');
		expect(t.renders()).toBe(1);

		t.advance(1000);
		expect(await (await t.cache.serve(alice, t.page('<p>v3</p>'))).text()).toBe('<p>v3</p>');
		expect(t.renders()).toBe(2);
	});

	it('keeps pages per key: another viewer gets their own render', async () => {
		const t = setup();
		await t.cache.serve(alice, t.page('alice'));
		expect(await (await t.cache.serve(bob, t.page('bob'))).text()).toBe('bob');
		expect(await (await t.cache.serve(alice, t.page('x'))).text()).toBe('alice');
	});

	it.each([
		{ type: 'incident.changed', incidentId: 'i', what: 'status' },
		{ type: 'board.changed', incidentId: null },
		{ type: 'membership.changed', incidentId: 'i', userId: 'carol' },
		{ type: 'user.changed', userId: 'carol' },
		{ type: 'sessions.ended', userId: 'carol', sessionIds: 'all' }
	] as const)('drops every page on $type', async (event) => {
		const t = setup();
		await t.cache.serve(alice, t.page('old'));
		await t.cache.serve(bob, t.page('old'));
		t.events.publish(event);
		expect(await (await t.cache.serve(alice, t.page('new'))).text()).toBe('new');
		expect(await (await t.cache.serve(bob, t.page('new'))).text()).toBe('new');
	});

	it("drops only the notified user's pages on a notification (their unread count changed)", async () => {
		const t = setup();
		await t.cache.serve(alice, t.page('old'));
		await t.cache.serve(bob, t.page('old'));
		t.events.publish({ type: 'notification.created', userId: 'alice', notificationId: 'n1' });
		expect(await (await t.cache.serve(alice, t.page('new'))).text()).toBe('new');
		expect(await (await t.cache.serve(bob, t.page('new'))).text()).toBe('old');
	});

	it('does not keep a page that rendered while something changed', async () => {
		const t = setup();
		const served = await t.cache.serve(alice, async () => {
			t.events.publish({ type: 'board.changed', incidentId: null });
			return new Response('raced', { headers: { 'content-type': 'text/html' } });
		});
		expect(await served.text()).toBe('raced');
		expect(t.cache.size).toBe(0);
		expect(await (await t.cache.serve(alice, t.page('fresh'))).text()).toBe('fresh');
	});

	it('renders once for many concurrent requests of one key', async () => {
		const t = setup();
		let release!: () => void;
		const gate = new Promise<void>((r) => (release = r));
		let renders = 0;
		const slow = async () => {
			renders++;
			await gate;
			return new Response('shared', { headers: { 'content-type': 'text/html' } });
		};
		const all = Array.from({ length: 20 }, () => t.cache.serve(alice, slow));
		release();
		const bodies = await Promise.all(all.map(async (p) => (await p).text()));
		expect(renders).toBe(1);
		expect(new Set(bodies)).toEqual(new Set(['shared']));
	});

	it('does not hand a request made after a change the render that started before it', async () => {
		const t = setup();
		let release!: () => void;
		const gate = new Promise<void>((r) => (release = r));
		const before = t.cache.serve(alice, async () => {
			await gate;
			return new Response('before the change', { headers: { 'content-type': 'text/html' } });
		});
		t.events.publish({ type: 'incident.changed', incidentId: 'i', what: 'status' });
		const after = t.cache.serve(alice, t.page('after the change'));
		release();
		expect(await (await before).text()).toBe('before the change');
		expect(await (await after).text()).toBe('after the change');
		expect(await (await t.cache.serve(alice, t.page('unused'))).text()).toBe('after the change');
	});

	it.each([
		['a redirect', () => new Response(null, { status: 303, headers: { location: '/login' } })],
		['an error page', () => new Response('oops', { status: 500, headers: { 'content-type': 'text/html' } })],
		['a download', () => new Response('a,b', { headers: { 'content-type': 'text/csv' } })],
		[
			'a page that sets another cookie',
			() => new Response('x', { headers: { 'content-type': 'text/html', 'set-cookie': 'other=1; Path=/' } })
		]
	])('passes %s through without keeping it, and waiting requests render their own', async (_label, make) => {
		const t = setup();
		let renders = 0;
		const render = async () => {
			renders++;
			await new Promise((r) => setTimeout(r, 5));
			return make();
		};
		const [a, b] = await Promise.all([t.cache.serve(alice, render), t.cache.serve(alice, render)]);
		expect(a.headers.get('x-warroom-cache')).toBeNull();
		expect(b.headers.get('x-warroom-cache')).toBeNull();
		expect(renders).toBe(2);
		expect(t.cache.size).toBe(0);
	});

	it('gives the session cookie to the requester who rendered, never to those served from the cache', async () => {
		const t = setup();
		const first = await t.cache.serve(
			alice,
			async () => new Response('p', { headers: { 'content-type': 'text/html', 'set-cookie': 'sid=abc.def; Path=/; HttpOnly' } })
		);
		expect(first.headers.getSetCookie()).toEqual(['sid=abc.def; Path=/; HttpOnly']);
		const second = await t.cache.serve(alice, t.page('unused'));
		expect(second.headers.getSetCookie()).toEqual([]);
	});

	it('compresses for clients that accept gzip, once', async () => {
		const t = setup();
		const html = '<article>card</article>'.repeat(500);
		await t.cache.serve(alice, t.page(html));
		const zipped = await t.cache.serve({ ...alice, acceptsGzip: true }, t.page('unused'));
		expect(zipped.headers.get('content-encoding')).toBe('gzip');
		expect(zipped.headers.get('vary')).toMatch(/accept-encoding/i);
		const bytes = Buffer.from(await zipped.arrayBuffer());
		expect(Number(zipped.headers.get('content-length'))).toBe(bytes.byteLength);
		expect(bytes.byteLength).toBeLessThan(html.length / 10);
		expect(gunzipSync(bytes).toString()).toBe(html);
		const plain = await t.cache.serve(alice, t.page('unused'));
		expect(plain.headers.get('content-encoding')).toBeNull();
		expect(await plain.text()).toBe(html);
	});

	it('renders every request when turned off', async () => {
		const t = setup(0);
		await t.cache.serve(alice, t.page('a'));
		await t.cache.serve(alice, t.page('b'));
		expect(t.renders()).toBe(2);
		expect(t.cache.size).toBe(0);
	});

	it('holds at most maxEntries pages, dropping the oldest', async () => {
		const events = new EventBus();
		const cache = new PageCache(events, { maxAgeMs: 1000, sessionCookie: 'sid', maxEntries: 3 });
		const render = (b: string) => async () => new Response(b, { headers: { 'content-type': 'text/html' } });
		for (const k of ['a', 'b', 'c', 'd']) await cache.serve({ key: k, userId: k, acceptsGzip: false }, render(k));
		expect(cache.size).toBe(3);
		expect((await cache.serve({ key: 'a', userId: 'a', acceptsGzip: false }, render('a2'))).headers.get('x-warroom-cache')).toBe('miss');
		expect((await cache.serve({ key: 'd', userId: 'd', acceptsGzip: false }, render('d2'))).headers.get('x-warroom-cache')).toBe('hit');
	});
});

describe('acceptsGzip', () => {
	it.each([
		['gzip, deflate, br', true],
		['br;q=1.0, gzip;q=0.8', true],
		['*', true],
		['gzip;q=0', false],
		['identity', false],
		['', false],
		[null, false]
	])('%j → %s', (header, expected) => {
		expect(acceptsGzip(header)).toBe(expected);
	});
});

describe('which pages are kept', () => {
	it.each([
		['/board', true],
		['/board/kiosk', true],
		['/board/__data.json', true],
		['/board/share/abcdefgh.ijklmnop', true],
		['/board/share/abc.def/__data.json', true],
		['/board/links', false],
		['/board/', false],
		['/boards', false],
		['/incidents', false],
		['/board/share/a%2Fb', false]
	])('%s → %s', (pathname, kept) => {
		expect(isBoardPage(pathname)).toBe(kept);
	});

	const base = { method: 'GET', pathname: '/board', search: '', userId: 'u1', locale: 'en', timeZone: 'Asia/Shanghai', theme: 'auto' };
	it('keys a page on everything it depends on', () => {
		const key = boardPageKey(base)!;
		for (const change of [
			{ userId: 'u2' },
			{ locale: 'zh-CN' },
			{ timeZone: 'UTC' },
			{ theme: 'dark' },
			{ search: '?window=90' },
			{ pathname: '/board/kiosk' }
		])
			expect(boardPageKey({ ...base, ...change })).not.toBe(key);
		expect(boardPageKey({ ...base })).toBe(key);
	});

	it('keeps no page for another method or an anonymous viewer, except a share link', () => {
		expect(boardPageKey({ ...base, method: 'POST' })).toBeNull();
		expect(boardPageKey({ ...base, method: 'HEAD' })).toBeNull();
		expect(boardPageKey({ ...base, userId: null })).toBeNull();
		expect(boardPageKey({ ...base, userId: null, pathname: '/board/share/abc.def' })).not.toBeNull();
	});
});
