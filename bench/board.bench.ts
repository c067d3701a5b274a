/**
 * The status board under load (issue 7): `/board` rendered on the server with 100 active incidents on
 * PostgreSQL, requests/s at 50 concurrent keep-alive connections shared by 10 signed-in viewers (each
 * request asks for gzip, as browsers do), and how long a change takes to reach 500 open live streams
 * (p50/p99). The load runs twice: as shipped (rendered pages kept per viewer for at most
 * WARROOM_PAGE_CACHE_MS, dropped on any change) and with that cache off (every request rendered), so
 * the table shows both.
 *
 *   npm run build && npx tsx bench/board.bench.ts
 *
 * Uses TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) to create a fresh database,
 * seeds it through the real services, starts the built app (`build-server/server/index.js`) on a
 * loopback port and measures it from this process. Every loop is bounded in count and in time; only
 * 127.0.0.1 is ever contacted. Prints a Markdown table and writes it to bench/results/board-<date>.md.
 */
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SYSTEM_ACTOR } from '../src/lib/server/context';
import { saveService } from '../src/lib/server/services/catalogue.service';
import { declareIncident } from '../src/lib/server/services/incident.service';

const HOST = '127.0.0.1';
const PORT = Number(process.env.BENCH_PORT ?? 3987);
const ORIGIN = `http://${HOST}:${PORT}`;
const INCIDENTS = 100;
const SERVICES = 12;
const CONCURRENCY = 50;
/** Distinct signed-in viewers the connections are spread over (each has their own rendered page). */
const VIEWERS = Math.max(1, Math.min(Number(process.env.BENCH_VIEWERS ?? 10), 50));
const LOAD_MS = Math.min(Number(process.env.BENCH_LOAD_MS ?? 20_000), 120_000);
/** A hard stop on requests, whatever the speed. */
const LOAD_MAX_REQUESTS = 2_000_000;
const STREAMS = 500;
const FANOUT_ROUNDS = 20;
const FANOUT_ROUND_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 60_000;
const PASSWORD = 'bench-password-123';

process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
// Imported after the default is set: the helper reads it at import time.
const { createTestContext, makeUser } = await import('../tests/helpers/context');

function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
	return r.value;
}

const percentile = (sorted: number[], p: number) =>
	sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

function request(opts: {
	method?: string;
	path: string;
	cookie?: string;
	body?: string;
	agent?: http.Agent;
	headers?: Record<string, string>;
	bytesOnly?: boolean;
}) {
	return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; bytes: number }>((resolve, reject) => {
		const req = http.request(
			{
				host: HOST,
				port: PORT,
				method: opts.method ?? 'GET',
				path: opts.path,
				agent: opts.agent,
				headers: {
					...(opts.cookie ? { cookie: opts.cookie } : {}),
					...(opts.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN } : {}),
					...opts.headers
				}
			},
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (c: Buffer) => chunks.push(c));
				res.on('end', () => {
					const raw = Buffer.concat(chunks);
					// The load loop only counts bytes; the checks decode what they read.
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

async function login(username: string): Promise<string> {
	const r = await request({ method: 'POST', path: '/login', body: new URLSearchParams({ username, password: PASSWORD }).toString() });
	const cookie = [r.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('warroom_session='));
	if (!cookie) throw new Error(`login as ${username} failed (${r.status})`);
	return cookie.split(';')[0]!;
}

async function waitForHealth(child: ChildProcess): Promise<void> {
	const until = Date.now() + START_TIMEOUT_MS;
	while (Date.now() < until) {
		if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode}`);
		try {
			if ((await request({ path: '/api/health' })).status === 200) return;
		} catch {
			// Not listening yet.
		}
		await new Promise((r) => setTimeout(r, 250));
	}
	throw new Error('the app did not become healthy in time');
}

const BROWSER_ENCODINGS = { 'accept-encoding': 'gzip, deflate, br, zstd' };

/** `CONCURRENCY` keep-alive loops hitting `path` as `cookies[i % VIEWERS]` until the time or the request budget runs out. */
async function load(path: string, cookies: string[], loadMs: number) {
	const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
	const latencies: number[] = [];
	let ok = 0;
	let failed = 0;
	let sent = 0;
	let bytes = 0;
	const cpuBefore = appCpuMs();
	const cached = { hit: 0, miss: 0 };
	const started = performance.now();
	const deadline = started + loadMs;
	await Promise.all(
		Array.from({ length: CONCURRENCY }, async (_, i) => {
			const cookie = cookies[i % cookies.length]!;
			while (performance.now() < deadline && sent < LOAD_MAX_REQUESTS) {
				sent++;
				const t0 = performance.now();
				try {
					const r = await request({ path, cookie, agent, headers: BROWSER_ENCODINGS, bytesOnly: true });
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
	const cpuMsPerRequest = (appCpuMs() - cpuBefore) / Math.max(1, ok + failed);
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

/** Opens `STREAMS` live streams, then makes `FANOUT_ROUNDS` changes and times each stream's event. */
async function fanout(cookie: string, incidentIds: string[]) {
	const agent = new http.Agent({ keepAlive: true, maxSockets: STREAMS + 10 });
	const waiting = new Map<string, { started: number; pending: number; done: () => void }>();
	const delays: number[] = [];
	/** From the server publishing the change (the message's `at`) to this stream reading it: the fan-out alone. */
	const fromPublish: number[] = [];
	const sockets: http.ClientRequest[] = [];
	let open = 0;
	// Set once the measurement is over: the resets caused by closing the streams are expected then.
	let closing = false;
	const failed = (reject: (e: unknown) => void) => (error: unknown) => {
		if (!closing) reject(error);
	};
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`only ${open}/${STREAMS} streams opened`)), 30_000);
		for (let i = 0; i < STREAMS; i++) {
			const req = http.get(
				{ host: HOST, port: PORT, path: '/api/events', agent, headers: { cookie, accept: 'text/event-stream' } },
				(res) => {
					if (res.statusCode !== 200) return reject(new Error(`stream ${res.statusCode}`));
					if (++open === STREAMS) {
						clearTimeout(timer);
						resolve();
					}
					let buffer = '';
					res.setEncoding('utf8');
					res.on('data', (chunk: string) => {
						const at = performance.now();
						const wall = Date.now();
						buffer += chunk;
						let end: number;
						while ((end = buffer.indexOf('\n\n')) >= 0) {
							const frame = buffer.slice(0, end);
							buffer = buffer.slice(end + 2);
							const data = /^data: (.*)$/m.exec(frame)?.[1];
							if (!data || !/^event: board$/m.test(frame)) continue;
							const m = JSON.parse(data) as { incidentId?: string; at?: number };
							const w = m.incidentId ? waiting.get(m.incidentId) : undefined;
							if (!w) continue;
							delays.push(at - w.started);
							if (typeof m.at === 'number') fromPublish.push(wall - m.at);
							if (--w.pending === 0) w.done();
						}
					});
				}
			);
			req.on('error', failed(reject));
			sockets.push(req);
		}
	});
	const rounds = incidentIds.slice(0, FANOUT_ROUNDS);
	let missed = 0;
	for (const incidentId of rounds) {
		const received = new Promise<void>((resolve) => {
			const started = performance.now();
			waiting.set(incidentId, { started, pending: STREAMS, done: resolve });
		});
		// One click on "request update": the real change path (commit, then the board event).
		const post = request({
			method: 'POST',
			path: '/board?/request',
			cookie,
			headers: { 'x-sveltekit-action': 'true' },
			body: new URLSearchParams({ incidentId }).toString()
		});
		const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), FANOUT_ROUND_TIMEOUT_MS));
		const outcome = await Promise.race([received, timeout]);
		if (outcome === 'timeout') missed += waiting.get(incidentId)?.pending ?? 0;
		waiting.delete(incidentId);
		const r = await post;
		if (r.status !== 200) throw new Error(`request update failed: ${r.status} ${r.body.slice(0, 200)}`);
	}
	closing = true;
	for (const s of sockets) s.destroy();
	agent.destroy();
	delays.sort((a, b) => a - b);
	fromPublish.sort((a, b) => a - b);
	return {
		streams: STREAMS,
		rounds: rounds.length,
		events: delays.length,
		missed,
		p50: percentile(delays, 50),
		p99: percentile(delays, 99),
		max: delays.at(-1) ?? NaN,
		publishP50: percentile(fromPublish, 50),
		publishP99: percentile(fromPublish, 99)
	};
}

let child: ChildProcess | undefined;

/** CPU time (user + system) the app process has used, in ms: per-request cost that holds on a busy machine. */
function appCpuMs(): number {
	if (!child?.pid) return NaN;
	try {
		const fields = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
		const ticks = Number(fields[11]) + Number(fields[12]);
		return (ticks * 1000) / Number(execSync('getconf CLK_TCK').toString().trim() || 100);
	} catch {
		return NaN;
	}
}

async function stopApp(): Promise<void> {
	const c = child;
	child = undefined;
	if (!c || c.exitCode !== null) return;
	c.kill('SIGTERM');
	await new Promise((r) => {
		const t = setTimeout(() => {
			c.kill('SIGKILL');
			r(undefined);
		}, 10_000);
		c.once('exit', () => {
			clearTimeout(t);
			r(undefined);
		});
	});
}

async function main() {
	const root = path.resolve(import.meta.dirname, '..');
	if (!fs.existsSync(path.join(root, 'build-server/server/index.js')) || !fs.existsSync(path.join(root, 'build'))) {
		process.stdout.write('No build found: running npm run build…\n');
		execSync('npm run build', { cwd: root, stdio: 'inherit' });
	}
	const ctx = await createTestContext();
	try {
		process.stdout.write(`Seeding ${INCIDENTS} active incidents on ${ctx.databaseUrl?.replace(/\/\/[^@]*@/, '//')}…\n`);
		const codes: string[] = [];
		for (let i = 0; i < SERVICES; i++) {
			const code = `SVC-${String(i + 1).padStart(2, '0')}`;
			must(
				await saveService(ctx, SYSTEM_ACTOR, {
					input: { code, nameZh: `业务 ${i + 1}`, nameEn: `Service ${i + 1}`, criticality: 'critical', regions: [i % 2 ? 'east' : 'south'] }
				})
			);
			codes.push(code);
		}
		const manager = await makeUser(ctx, { role: 'manager', username: 'bench-manager', password: PASSWORD });
		for (let v = 1; v <= VIEWERS; v++) await makeUser(ctx, { role: 'viewer', username: `bench-exec-${v}`, password: PASSWORD });
		const impacts = ['extensive', 'significant', 'moderate', 'minor'] as const;
		const ids: string[] = [];
		for (let i = 0; i < INCIDENTS; i++) {
			const r = must(
				await declareIncident(ctx, manager.actor, {
					title: `Bench incident ${i + 1} — 交易响应缓慢`,
					impact: impacts[i % impacts.length],
					urgency: 'high',
					services: [codes[i % codes.length], codes[(i + 3) % codes.length]]
				})
			);
			ids.push(r.incident.id);
		}

		// BENCH_APP_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the app under load.
		const nodeArgs = (process.env.BENCH_APP_NODE_ARGS ?? '').split(' ').filter(Boolean);
		const startApp = async (extraEnv: Record<string, string>) => {
			child = spawn(process.execPath, [...nodeArgs, 'build-server/server/index.js'], {
				cwd: root,
				env: {
					...process.env,
					DATABASE_URL: ctx.databaseUrl,
					PORT: String(PORT),
					HOST,
					ORIGIN,
					WARROOM_DEMO: '0',
					// No scheduled jobs during the measurement: a clock tick would add unrelated load.
					WARROOM_JOBS: '0',
					LOG_LEVEL: 'warn',
					...extraEnv
				},
				stdio: ['ignore', 'ignore', 'inherit']
			});
			await waitForHealth(child);
		};

		await startApp({});
		const cookies: string[] = [];
		for (let v = 1; v <= VIEWERS; v++) cookies.push(await login(`bench-exec-${v}`));
		const cookie = cookies[0]!;
		const warm = await request({ path: '/board', cookie, headers: BROWSER_ENCODINGS });
		if (warm.status !== 200) throw new Error(`/board answered ${warm.status}`);
		if (process.env.BENCH_DUMP) fs.writeFileSync(process.env.BENCH_DUMP, warm.body);
		const shown = (warm.body.match(/data-testid="board-incident"/g) ?? []).length;
		if (shown !== INCIDENTS) throw new Error(`/board shows ${shown} incidents, expected ${INCIDENTS}`);

		const pageKiB = Buffer.byteLength(warm.body) / 1024;
		process.stdout.write(`/board is ${pageKiB.toFixed(0)} KiB of HTML (${(warm.bytes / 1024).toFixed(0)} KiB as sent).\n`);
		process.stdout.write(`Load: ${CONCURRENCY} connections, ${VIEWERS} viewers, for ${LOAD_MS / 1000} s…\n`);
		const l = await load('/board', cookies, LOAD_MS);
		process.stdout.write(`Fan-out: ${STREAMS} streams, ${FANOUT_ROUNDS} changes…\n`);
		const f = await fanout(cookie, ids);
		// The freshness check: after the changes above, a page served now must show them.
		const after = await request({ path: '/board', cookie, headers: BROWSER_ENCODINGS });
		const requested = (after.body.match(/data-testid="open-requests"/g) ?? []).length;
		if (requested < Math.min(FANOUT_ROUNDS, INCIDENTS)) throw new Error(`/board after the changes shows ${requested} open requests`);
		await stopApp();

		const uncachedMs = Math.max(3_000, Math.round(LOAD_MS / 2));
		process.stdout.write(`Reference: every request rendered (WARROOM_PAGE_CACHE_MS=0), ${uncachedMs / 1000} s…\n`);
		await startApp({ WARROOM_PAGE_CACHE_MS: '0' });
		const u = await load('/board', cookies, uncachedMs);
		await stopApp();

		let commit = 'unknown (not a git checkout)';
		try {
			commit = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
				.toString()
				.trim();
		} catch {
			// A copy of the tree outside git: say so rather than fail after the measurement.
		}
		const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
		const date = new Date().toISOString().slice(0, 10);
		const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');
		const table = [
			`# /board benchmark — ${date}`,
			'',
			`Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}; Node ${process.version}; commit ${commit}; PostgreSQL; built app, jobs off.`,
			'',
			'| measure | target | result |',
			'| --- | --- | --- |',
			`| \`/board\` with ${INCIDENTS} active incidents (${fmt(pageKiB, 0)} KiB of HTML, ${fmt(l.kibPerResponse, 0)} KiB gzip), ${CONCURRENCY} connections, ${VIEWERS} viewers, ${fmt(l.seconds, 0)} s | ≥ 1,000 req/s | **${fmt(l.rps, 0)} req/s** (${l.ok} ok, ${l.failed} failed; ${l.cached.hit} served from the page cache, ${l.cached.miss} rendered; latency p50 ${fmt(l.p50)} ms, p99 ${fmt(l.p99)} ms; app CPU ${fmt(l.cpuMsPerRequest, 2)} ms per request) |`,
			`| the same with the page cache off (every request rendered), ${fmt(u.seconds, 0)} s | — (reference) | ${fmt(u.rps, 0)} req/s (${u.ok} ok, ${u.failed} failed; latency p50 ${fmt(u.p50)} ms, p99 ${fmt(u.p99)} ms; app CPU ${fmt(u.cpuMsPerRequest, 2)} ms per request) |`,
			`| change → ${f.streams} open live streams (${f.rounds} changes, ${f.events} deliveries, ${f.missed} missed) | p99 ≤ 100 ms | **p50 ${fmt(f.p50)} ms, p99 ${fmt(f.p99)} ms** (max ${fmt(f.max)} ms), from the click; **p50 ${fmt(f.publishP50)} ms, p99 ${fmt(f.publishP99)} ms** from the commit (the server publishing the change) |`,
			'',
			'The change is one "request update" click (POST /board?/request): timed from sending the request to each stream receiving its `board` event, so it includes the commit.',
			'',
			`Rendered pages are kept per viewer for at most WARROOM_PAGE_CACHE_MS (5 s by default) when nothing changed, and dropped on every incident, board, membership, user or session event (src/lib/server/page-cache.ts); after the ${f.rounds} changes, a fresh request showed all of them.`,
			''
		].join('\n');
		process.stdout.write('\n' + table + '\n');
		const out = path.join(root, 'bench', 'results', `board-${date}.md`);
		fs.mkdirSync(path.dirname(out), { recursive: true });
		fs.writeFileSync(out, table);
		process.stdout.write(`Written to ${path.relative(root, out)}\n`);
	} finally {
		await stopApp();
		await ctx.close();
	}
}

await main();
