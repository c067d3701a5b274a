/**
 * A browser-like HTTP client for the production build: form actions answered as JSON (what
 * `use:enhance` gets), page data from `__data.json`, and the routes and form actions declared in the
 * source tree (so a table keyed by them fails when a new one appears).
 */
import fs from 'node:fs';
import path from 'node:path';
import * as devalue from 'devalue';

const ROUTES = path.resolve(import.meta.dirname, '../../../src/routes');

export interface Answer {
	status: number;
	/** For a redirect (HTTP or a form action's `{ type: 'redirect' }`). */
	location: string | null;
	/** A form action's failure data or error, when there is one. */
	data: Record<string, unknown> | null;
	body: string;
	contentType: string;
}

export class Http {
	constructor(readonly origin: string) {}

	async get(pathname: string, cookie = '', headers: Record<string, string> = {}): Promise<Answer> {
		const res = await fetch(`${this.origin}${pathname}`, { redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...headers } });
		const body = await res.text();
		return {
			status: res.status,
			location: res.headers.get('location'),
			data: null,
			body,
			contentType: res.headers.get('content-type') ?? ''
		};
	}

	/** The first bytes of an event stream (or any GET) within `ms`, then the connection is dropped. */
	async peek(pathname: string, cookie: string, ms: number): Promise<Answer> {
		const ac = new AbortController();
		const timer = setTimeout(() => ac.abort(), ms);
		try {
			const res = await fetch(`${this.origin}${pathname}`, {
				redirect: 'manual',
				headers: cookie ? { cookie } : {},
				signal: ac.signal
			});
			let body = '';
			const contentType = res.headers.get('content-type') ?? '';
			if (res.body) {
				const reader = res.body.getReader();
				const dec = new TextDecoder();
				try {
					for (let i = 0; i < 10_000; i++) {
						const { done, value } = await reader.read();
						if (done) break;
						body += dec.decode(value, { stream: true });
					}
				} catch {
					// aborted: what arrived so far is the answer
				}
			}
			return { status: res.status, location: res.headers.get('location'), data: null, body, contentType };
		} finally {
			clearTimeout(timer);
			ac.abort();
		}
	}

	/** POST a form as `use:enhance` does (Origin set, JSON answer). */
	async action(pathname: string, cookie: string, form: Record<string, string | string[]> = {}): Promise<Answer> {
		const body = new URLSearchParams();
		for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
		const res = await fetch(`${this.origin}${pathname}`, {
			method: 'POST',
			redirect: 'manual',
			headers: {
				...(cookie ? { cookie } : {}),
				origin: this.origin,
				accept: 'application/json',
				'content-type': 'application/x-www-form-urlencoded',
				'x-sveltekit-action': 'true'
			},
			body: body.toString()
		});
		const text = await res.text();
		const out: Answer = {
			status: res.status,
			location: res.headers.get('location'),
			data: null,
			body: text,
			contentType: res.headers.get('content-type') ?? ''
		};
		try {
			const j = JSON.parse(text) as { type?: string; status?: number; location?: string; data?: string; error?: Record<string, unknown> };
			if (j.type === 'failure') {
				out.status = j.status ?? out.status;
				out.data = typeof j.data === 'string' ? (devalue.parse(j.data) as Record<string, unknown>) : null;
			} else if (j.type === 'redirect') {
				out.status = j.status ?? 303;
				out.location = j.location ?? null;
			} else if (j.type === 'success') {
				out.data = typeof j.data === 'string' ? (devalue.parse(j.data) as Record<string, unknown>) : null;
			} else if (j.type === 'error') out.data = j.error ?? null;
		} catch {
			// not JSON (e.g. a plain 403 from the CSRF check)
		}
		return out;
	}

	/** POST JSON to the API (Origin set). */
	async api(method: string, pathname: string, cookie: string, body?: unknown): Promise<Answer> {
		const res = await fetch(`${this.origin}${pathname}`, {
			method,
			redirect: 'manual',
			headers: { ...(cookie ? { cookie } : {}), origin: this.origin, 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		const text = await res.text();
		return {
			status: res.status,
			location: res.headers.get('location'),
			data: null,
			body: text,
			contentType: res.headers.get('content-type') ?? ''
		};
	}

	/** A page's load data, as the client router fetches it: one entry per layout/page node. */
	async data(pathname: string, cookie: string): Promise<Record<string, unknown>> {
		const [p, q] = pathname.split('?');
		const res = await fetch(`${this.origin}${p!.replace(/\/$/, '')}/__data.json${q ? `?${q}` : ''}`, { headers: { cookie } });
		if (!res.ok) throw new Error(`data of ${pathname}: ${res.status}`);
		const j = (await res.json()) as { type: string; nodes?: ({ type: string; data: unknown[] } | null)[] };
		if (j.type !== 'data' || !j.nodes) throw new Error(`data of ${pathname}: ${JSON.stringify(j).slice(0, 300)}`);
		const nodes = j.nodes.filter((n) => n?.type === 'data').map((n) => devalue.unflatten(n!.data) as Record<string, unknown>);
		return nodes.at(-1) ?? {};
	}
}

/** Every object (deeply) in a value that satisfies `pred`. */
export function findAll<T = Record<string, unknown>>(value: unknown, pred: (o: Record<string, unknown>) => boolean, limit = 10_000): T[] {
	const out: T[] = [];
	const seen = new Set<unknown>();
	const walk = (v: unknown) => {
		if (out.length >= limit || v === null || typeof v !== 'object' || seen.has(v)) return;
		seen.add(v);
		if (Array.isArray(v)) for (const x of v) walk(x);
		else {
			const o = v as Record<string, unknown>;
			if (pred(o)) out.push(o as T);
			for (const x of Object.values(o)) walk(x);
		}
	};
	walk(value);
	return out;
}

/** The route of a file under src/routes, e.g. `/incidents/[id]/review`. */
function routeOf(dir: string): string {
	const rel = path.relative(ROUTES, dir).split(path.sep).join('/');
	return rel === '' ? '/' : `/${rel}`;
}

function walk(dir: string, visit: (file: string, dir: string) => void): void {
	for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
		const p = path.join(dir, e.name);
		if (e.isDirectory()) walk(p, visit);
		else visit(p, dir);
	}
}

/** Every readable route: a page (`+page.server.ts`/`+page.svelte`) or an endpoint with a GET. */
export function readableRoutes(): { route: string; kind: 'page' | 'endpoint'; methods: string[] }[] {
	const out = new Map<string, { route: string; kind: 'page' | 'endpoint'; methods: string[] }>();
	walk(ROUTES, (file, dir) => {
		const name = path.basename(file);
		const route = routeOf(dir);
		if (name === '+page.server.ts' || name === '+page.svelte' || name === '+page.ts')
			out.set(route, { route, kind: 'page', methods: ['GET'] });
		else if (name === '+server.ts') {
			const src = fs.readFileSync(file, 'utf8');
			const methods = [...src.matchAll(/export\s+(?:const|async function|function)\s+(GET|POST|PUT|PATCH|DELETE)\b/g)].map((m) => m[1]!);
			out.set(route, { route, kind: 'endpoint', methods });
		}
	});
	return [...out.values()];
}

/** Every form action: `{ route, action }` for each key of every `export const actions` (or `default`). */
export function formActionsInSource(): { route: string; action: string }[] {
	const out: { route: string; action: string }[] = [];
	walk(ROUTES, (file, dir) => {
		if (path.basename(file) !== '+page.server.ts') return;
		const src = fs.readFileSync(file, 'utf8');
		const m = /export const actions[^=]*=\s*\{([\s\S]*?)\n\};/m.exec(src);
		if (!m) return;
		const names = [...m[1]!.matchAll(/^\t(?:async\s+)?([A-Za-z_][\w]*)\s*[:(]/gm)].map((x) => x[1]!);
		for (const action of names.length ? names : ['default']) out.push({ route: routeOf(dir), action });
	});
	return out;
}
