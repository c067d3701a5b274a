/**
 * The status board under load, shared by `bench/board.bench.ts` (issue 7: requests/s, the page cache
 * on and off, and the fan-out of a change to live streams) and the collab harness's `board` scenario
 * (issue 9: requests/s in the full run): the seed (active incidents over services, declared through
 * the real services, and signed-in viewers), HTTP requests to the built app, and the keep-alive load.
 * Every loop is bounded in count and in time; only 127.0.0.1 is ever contacted.
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AppContext } from '../src/lib/server/context';
import { SYSTEM_ACTOR } from '../src/lib/server/context';
import { saveService } from '../src/lib/server/services/catalogue.service';
import { declareIncident } from '../src/lib/server/services/incident.service';
import { processCpuMs } from './proc';

export const BOARD_HOST = '127.0.0.1';
export const BOARD_PASSWORD = 'bench-password-123';
/** What a browser asks for: the board is sent gzipped. */
export const BROWSER_ENCODINGS = { 'accept-encoding': 'gzip, deflate, br, zstd' };
/** A hard stop on requests per load, whatever the speed. */
const LOAD_MAX_REQUESTS = 2_000_000;

function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
	return r.value;
}

export const percentile = (sorted: number[], p: number) =>
	sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

export interface BoardSeed {
	/** The incidents declared, in order. */
	incidentIds: string[];
	/** Usernames of the viewers (role viewer, password BOARD_PASSWORD). */
	viewers: string[];
	/** A manager (can request updates from the board). */
	manager: string;
}

/**
 * `incidents` active incidents over `services` critical services, declared by a manager through the
 * real services, and `viewers` executives (role viewer) to watch them.
 */
export async function seedBoard(
	ctx: AppContext,
	opts: { incidents: number; services: number; viewers: number; prefix?: string }
): Promise<BoardSeed> {
	// Imported here: the helper reads TEST_DATABASE_URL when it is imported (callers set their default first).
	const { makeUser } = await import('../tests/helpers/context');
	const prefix = opts.prefix ?? 'bench';
	const codes: string[] = [];
	for (let i = 0; i < opts.services; i++) {
		const code = `SVC-${String(i + 1).padStart(2, '0')}`;
		must(
			await saveService(ctx, SYSTEM_ACTOR, {
				input: { code, nameZh: `业务 ${i + 1}`, nameEn: `Service ${i + 1}`, criticality: 'critical', regions: [i % 2 ? 'east' : 'south'] }
			})
		);
		codes.push(code);
	}
	const managerName = `${prefix}-manager`;
	const manager = await makeUser(ctx, { role: 'manager', username: managerName, password: BOARD_PASSWORD });
	const viewers: string[] = [];
	for (let v = 1; v <= opts.viewers; v++) {
		const username = `${prefix}-exec-${v}`;
		await makeUser(ctx, { role: 'viewer', username, password: BOARD_PASSWORD });
		viewers.push(username);
	}
	const impacts = ['extensive', 'significant', 'moderate', 'minor'] as const;
	const incidentIds: string[] = [];
	for (let i = 0; i < opts.incidents; i++) {
		const r = must(
			await declareIncident(ctx, manager.actor, {
				title: `Bench incident ${i + 1} — 交易响应缓慢`,
				impact: impacts[i % impacts.length],
				urgency: 'high',
				services: [codes[i % codes.length]!, codes[(i + 3) % codes.length]!]
			})
		);
		incidentIds.push(r.incident.id);
	}
	return { incidentIds, viewers, manager: managerName };
}

export interface BoardResponse {
	status: number;
	headers: http.IncomingHttpHeaders;
	body: string;
	bytes: number;
}

/** One HTTP request to the app on `port`; `bytesOnly` skips decoding the body (the load loop only counts bytes). */
export function boardRequest(
	port: number,
	opts: {
		method?: string;
		path: string;
		cookie?: string;
		body?: string;
		agent?: http.Agent;
		headers?: Record<string, string>;
		bytesOnly?: boolean;
	}
): Promise<BoardResponse> {
	return new Promise((resolve, reject) => {
		const req = http.request(
			{
				host: BOARD_HOST,
				port,
				method: opts.method ?? 'GET',
				path: opts.path,
				agent: opts.agent,
				headers: {
					...(opts.cookie ? { cookie: opts.cookie } : {}),
					...(opts.body !== undefined
						? { 'content-type': 'application/x-www-form-urlencoded', origin: `http://${BOARD_HOST}:${port}` }
						: {}),
					...opts.headers
				}
			},
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (c: Buffer) => chunks.push(c));
				res.on('end', () => {
					const raw = Buffer.concat(chunks);
					const body = opts.bytesOnly ? '' : (res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
					resolve({ status: res.statusCode ?? 0, headers: res.headers, body, bytes: raw.byteLength });
				});
				res.on('error', reject);
			}
		);
		req.setTimeout(30_000, () => req.destroy(new Error(`timeout ${opts.path}`)));
		req.on('error', reject);
		if (opts.body !== undefined) req.write(opts.body);
		req.end();
	});
}

/** Signs `username` in over HTTP; returns the session cookie (`name=value`). */
export async function boardLogin(port: number, username: string): Promise<string> {
	const r = await boardRequest(port, {
		method: 'POST',
		path: '/login',
		body: new URLSearchParams({ username, password: BOARD_PASSWORD }).toString()
	});
	const cookie = [r.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('warroom_session='));
	if (!cookie) throw new Error(`login as ${username} failed (${r.status})`);
	return cookie.split(';')[0]!;
}

/** Polls `/api/health` until it answers 200 (the app is up), the process exits, or `timeoutMs` passes. */
export async function waitForBoardApp(port: number, exited: () => number | null, timeoutMs: number): Promise<void> {
	const until = Date.now() + timeoutMs;
	while (Date.now() < until) {
		const code = exited();
		if (code !== null) throw new Error(`the app exited with ${code}`);
		try {
			if ((await boardRequest(port, { path: '/api/health' })).status === 200) return;
		} catch {
			// Not listening yet.
		}
		await new Promise((r) => setTimeout(r, 250));
	}
	throw new Error('the app did not become healthy in time');
}

/** The board a viewer gets: checked to show exactly `incidents` incidents; returns the page's size. */
export async function checkBoard(
	port: number,
	cookie: string,
	incidents: number
): Promise<{ htmlKiB: number; sentKiB: number; body: string }> {
	const r = await boardRequest(port, { path: '/board', cookie, headers: BROWSER_ENCODINGS });
	if (r.status !== 200) throw new Error(`/board answered ${r.status}`);
	const shown = (r.body.match(/data-testid="board-incident"/g) ?? []).length;
	if (shown !== incidents) throw new Error(`/board shows ${shown} incidents, expected ${incidents}`);
	return { htmlKiB: Buffer.byteLength(r.body) / 1024, sentKiB: r.bytes / 1024, body: r.body };
}

export interface BoardLoad {
	rps: number;
	ok: number;
	failed: number;
	seconds: number;
	kibPerResponse: number;
	cpuMsPerRequest: number;
	cached: { hit: number; miss: number };
	p50: number;
	p99: number;
}

/**
 * `concurrency` keep-alive loops requesting `path` as `cookies[i % cookies.length]` until `loadMs` or the
 * request budget runs out. A response counts as ok when it is a 200 of more than 1 KB.
 */
export async function loadBoard(opts: {
	port: number;
	path: string;
	cookies: string[];
	concurrency: number;
	loadMs: number;
	appPid: number | undefined;
}): Promise<BoardLoad> {
	const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
	const latencies: number[] = [];
	let ok = 0;
	let failed = 0;
	let sent = 0;
	let bytes = 0;
	const cpuBefore = await processCpuMs(opts.appPid);
	const cached = { hit: 0, miss: 0 };
	const started = performance.now();
	const deadline = started + opts.loadMs;
	await Promise.all(
		Array.from({ length: opts.concurrency }, async (_, i) => {
			const cookie = opts.cookies[i % opts.cookies.length]!;
			while (performance.now() < deadline && sent < LOAD_MAX_REQUESTS) {
				sent++;
				const t0 = performance.now();
				try {
					const r = await boardRequest(opts.port, { path: opts.path, cookie, agent, headers: BROWSER_ENCODINGS, bytesOnly: true });
					bytes += r.bytes;
					const c = r.headers['x-warroom-cache'];
					if (c === 'hit' || c === 'fast-hit') cached.hit++;
					else if (c === 'miss') cached.miss++;
					if (r.status === 200 && r.bytes > 1000) ok++;
					else failed++;
				} catch {
					failed++;
				}
				latencies.push(performance.now() - t0);
			}
		})
	);
	const seconds = (performance.now() - started) / 1000;
	const cpuMsPerRequest = ((await processCpuMs(opts.appPid)) - cpuBefore) / Math.max(1, ok + failed);
	agent.destroy();
	latencies.sort((a, b) => a - b);
	return {
		rps: ok / seconds,
		ok,
		failed,
		seconds,
		kibPerResponse: bytes / Math.max(1, ok + failed) / 1024,
		cpuMsPerRequest,
		cached,
		p50: percentile(latencies, 50),
		p99: percentile(latencies, 99)
	};
}
