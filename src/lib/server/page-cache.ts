/**
 * A micro-cache of rendered pages, for the status board (issue 7).
 *
 * Executives keep `/board` open and reload it; a wall display polls it; during a major incident
 * dozens of viewers ask for the same 100-card page many times a second. Rendering it on the server
 * each time costs tens of milliseconds, so a rendered page is kept, **per viewer** (the key holds the
 * user, the path and query, language, time zone and theme), for at most `maxAgeMs` (5 s by default:
 * only the passing of time changes a page nobody changed, and the board's countdowns and durations
 * tick in the browser from absolute instants, so only their first paint can be that old), and
 * dropped at once when anything it shows may have changed:
 * - any incident, board, membership, user or session event drops every page (they are cheap to
 *   rebuild, and a change is rare next to the reads);
 * - a notification for a user drops that user's pages (their unread count is in the header).
 * A render that raced with such an event is served to its requester but not kept. Concurrent
 * requests for the same key wait for one render instead of each rendering (single flight).
 *
 * Only complete 200 responses of HTML or JSON are kept, without their session cookie (its value
 * and expiry never change within a session, so a kept page need not repeat it); anything else is
 * passed through. Bodies are gzip-compressed once, on the first request that accepts gzip.
 */
import { gzipSync } from 'node:zlib';
import { setBounded } from './bounded-map';
import type { AppEvent, EventBus } from './events';

export interface PageCacheOptions {
	/** 0 turns the cache off: every request renders. */
	maxAgeMs: number;
	/** The session cookie's name: the only cookie a kept response may have set. */
	sessionCookie: string;
	maxEntries?: number;
	now?: () => number;
}

export interface PageCacheRequest {
	key: string;
	/** Whose page it is (null for a share link seen without signing in). */
	userId: string | null;
	acceptsGzip: boolean;
}

interface Entry {
	at: number;
	userId: string | null;
	status: number;
	headers: [string, string][];
	body: Uint8Array<ArrayBuffer>;
	gzip?: Uint8Array<ArrayBuffer>;
}

interface Inflight {
	promise: Promise<Entry | null>;
	generation: number;
	userGeneration: number;
}

/** Smaller bodies are not worth compressing. */
const GZIP_MIN_BYTES = 1024;
const CACHEABLE_TYPES = /^(text\/html|application\/json)\b/i;

export class PageCache {
	private readonly entries = new Map<string, Entry>();
	private readonly inflight = new Map<string, Inflight>();
	private generation = 0;
	private readonly userGenerations = new Map<string, number>();
	private readonly maxEntries: number;
	private readonly now: () => number;
	readonly stats = { hits: 0, misses: 0, passes: 0 };

	constructor(
		events: EventBus,
		private readonly opts: PageCacheOptions
	) {
		this.maxEntries = opts.maxEntries ?? 2_000;
		this.now = opts.now ?? Date.now;
		events.subscribe((e) => this.onEvent(e));
	}

	get enabled(): boolean {
		return this.opts.maxAgeMs > 0;
	}

	get size(): number {
		return this.entries.size;
	}

	private onEvent(e: AppEvent): void {
		if (e.type === 'notification.created') {
			this.userGenerations.set(e.userId, this.userGeneration(e.userId) + 1);
			for (const [key, entry] of this.entries) if (entry.userId === e.userId) this.entries.delete(key);
			return;
		}
		this.generation++;
		this.entries.clear();
	}

	private userGeneration(userId: string | null): number {
		return userId ? (this.userGenerations.get(userId) ?? 0) : 0;
	}

	/** The kept page for `req`, or `render()`'s answer (kept when it may be). */
	async serve(req: PageCacheRequest, render: () => Response | Promise<Response>): Promise<Response> {
		if (!this.enabled) return render();
		const hit = this.fresh(req.key);
		if (hit) {
			this.stats.hits++;
			return this.respond(hit, req, 'hit');
		}
		const pending = this.inflight.get(req.key);
		// Join a render only if nothing changed since it started: one that began before a change must
		// not answer a request made after it (the browser refetches because of that change).
		if (pending && pending.generation === this.generation && pending.userGeneration === this.userGeneration(req.userId)) {
			const shared = await pending.promise;
			if (shared) {
				this.stats.hits++;
				return this.respond(shared, req, 'hit');
			}
			// The other render could not be kept (an error, a redirect): this request renders its own.
			this.stats.passes++;
			return render();
		}

		const generation = this.generation;
		const userGeneration = this.userGeneration(req.userId);
		let settle!: (entry: Entry | null) => void;
		const mine: Inflight = { promise: new Promise((r) => (settle = r)), generation, userGeneration };
		this.inflight.set(req.key, mine);
		try {
			const response = await render();
			const entry = await this.capture(response, req.userId);
			if (!entry) {
				settle(null);
				this.stats.passes++;
				return response;
			}
			// Something changed while this page rendered: serve it to this request only.
			if (generation === this.generation && userGeneration === this.userGeneration(req.userId)) this.keep(req.key, entry);
			settle(entry);
			this.stats.misses++;
			return this.respond(entry, req, 'miss', response.headers.getSetCookie());
		} catch (error) {
			settle(null);
			throw error;
		} finally {
			if (this.inflight.get(req.key) === mine) this.inflight.delete(req.key);
		}
	}

	private fresh(key: string): Entry | undefined {
		const entry = this.entries.get(key);
		if (!entry) return undefined;
		if (this.now() - entry.at < this.opts.maxAgeMs) return entry;
		this.entries.delete(key);
		return undefined;
	}

	private keep(key: string, entry: Entry): void {
		setBounded(this.entries, key, entry, this.maxEntries);
	}

	/** The response as an entry, or null when it must not be kept (its body is then left unread). */
	private async capture(response: Response, userId: string | null): Promise<Entry | null> {
		if (response.status !== 200 || !response.body) return null;
		if (!CACHEABLE_TYPES.test(response.headers.get('content-type') ?? '')) return null;
		if (response.headers.has('content-encoding')) return null;
		const sessionPrefix = `${this.opts.sessionCookie}=`;
		if (response.headers.getSetCookie().some((c) => !c.startsWith(sessionPrefix))) return null;
		const headers: [string, string][] = [];
		response.headers.forEach((value, name) => {
			if (name !== 'set-cookie' && name !== 'content-length') headers.push([name, value]);
		});
		const body = new Uint8Array(await response.arrayBuffer());
		return { at: this.now(), userId, status: response.status, headers, body };
	}

	/**
	 * The kept page for `key` as status, headers and bytes, or null: for the transport's fast path,
	 * which answers without building a Request and a Response (see board-fast-path.ts).
	 */
	kept(key: string, gzip: boolean): KeptPage | null {
		if (!this.enabled) return null;
		const entry = this.fresh(key);
		if (!entry) return null;
		this.stats.hits++;
		// Told apart from hits through SvelteKit so tests and benchmarks can see the fast path works.
		return this.payload(entry, gzip, 'fast-hit');
	}

	private payload(entry: Entry, gzip: boolean, outcome: 'hit' | 'miss' | 'fast-hit'): KeptPage {
		const headers: [string, string][] = [...entry.headers, ['x-warroom-cache', outcome], ['vary', 'accept-encoding']];
		let body = entry.body;
		if (gzip && entry.body.byteLength >= GZIP_MIN_BYTES) {
			entry.gzip ??= new Uint8Array(gzipSync(entry.body, { level: 6 }));
			body = entry.gzip;
			headers.push(['content-encoding', 'gzip']);
		}
		headers.push(['content-length', String(body.byteLength)]);
		return { status: entry.status, headers, body };
	}

	private respond(entry: Entry, req: PageCacheRequest, outcome: 'hit' | 'miss', setCookies: string[] = []): Response {
		const page = this.payload(entry, req.acceptsGzip, outcome);
		const headers = new Headers();
		for (const [name, value] of page.headers) headers.append(name, value);
		for (const c of setCookies) headers.append('set-cookie', c);
		return new Response(page.body, { status: page.status, headers });
	}
}

export interface KeptPage {
	status: number;
	headers: [string, string][];
	body: Uint8Array<ArrayBuffer>;
}

/** Status-board pages (and their client-navigation data) are the only ones kept rendered. */
const BOARD_PAGE = /^\/board(?:\/kiosk|\/share\/[A-Za-z0-9_.-]{1,200})?(?:\/__data\.json)?$/;

export function isBoardPage(pathname: string): boolean {
	return BOARD_PAGE.test(pathname);
}

/**
 * The cache key of a status-board page, or null when it must not be kept: signed-in pages are the
 * viewer's; a share link's page is the token's (anyone holding it sees the same).
 */
export function boardPageKey(opts: {
	method: string;
	pathname: string;
	search: string;
	userId: string | null;
	locale: string;
	timeZone: string;
	theme: string;
}): string | null {
	if (opts.method !== 'GET' || !isBoardPage(opts.pathname)) return null;
	if (!opts.userId && !opts.pathname.startsWith('/board/share/')) return null;
	return [opts.pathname, opts.search, opts.userId ?? '-', opts.locale, opts.timeZone, opts.theme].join('\n');
}

/** Whether an Accept-Encoding header accepts gzip (and does not refuse it with q=0). */
export function acceptsGzip(header: string | null): boolean {
	if (!header) return false;
	for (const part of header.split(',')) {
		const [name, ...params] = part.trim().toLowerCase().split(';');
		if (name !== 'gzip' && name !== '*') continue;
		const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
		return !q || Number(q.slice(2)) > 0;
	}
	return false;
}
