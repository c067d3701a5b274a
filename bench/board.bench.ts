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
import { BOARD_HOST as HOST, boardLogin, boardRequest, checkBoard, loadBoard, percentile, seedBoard, waitForBoardApp } from './board-load';

const PORT = Number(process.env.BENCH_PORT ?? 3987);
const ORIGIN = `http://${HOST}:${PORT}`;
const INCIDENTS = 100;
const SERVICES = 12;
const CONCURRENCY = 50;
/** Distinct signed-in viewers the connections are spread over (each has their own rendered page). */
const VIEWERS = Math.max(1, Math.min(Number(process.env.BENCH_VIEWERS ?? 10), 50));
const LOAD_MS = Math.min(Number(process.env.BENCH_LOAD_MS ?? 20_000), 120_000);
const STREAMS = 500;
const FANOUT_ROUNDS = 20;
const FANOUT_ROUND_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 60_000;

process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
// Imported after the default is set: the helper reads it at import time.
const { createTestContext } = await import('../tests/helpers/context');

const request = (opts: Parameters<typeof boardRequest>[1]) => boardRequest(PORT, opts);

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
		const seed = await seedBoard(ctx, { incidents: INCIDENTS, services: SERVICES, viewers: VIEWERS });
		const ids = seed.incidentIds;

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
			const started = child;
			await waitForBoardApp(PORT, () => started.exitCode, START_TIMEOUT_MS);
		};

		await startApp({});
		const cookies: string[] = [];
		for (const viewer of seed.viewers) cookies.push(await boardLogin(PORT, viewer));
		const cookie = cookies[0]!;
		const warm = await checkBoard(PORT, cookie, INCIDENTS);
		if (process.env.BENCH_DUMP) fs.writeFileSync(process.env.BENCH_DUMP, warm.body);

		const pageKiB = warm.htmlKiB;
		process.stdout.write(`/board is ${pageKiB.toFixed(0)} KiB of HTML (${warm.sentKiB.toFixed(0)} KiB as sent).\n`);
		process.stdout.write(`Load: ${CONCURRENCY} connections, ${VIEWERS} viewers, for ${LOAD_MS / 1000} s…\n`);
		const l = await loadBoard({ port: PORT, path: '/board', cookies, concurrency: CONCURRENCY, loadMs: LOAD_MS, appPid: child?.pid });
		process.stdout.write(`Fan-out: ${STREAMS} streams, ${FANOUT_ROUNDS} changes…\n`);
		const f = await fanout(cookie, ids);
		// The freshness check: after the changes above, a page served now must show them.
		const after = await request({ path: '/board', cookie, headers: { 'accept-encoding': 'gzip' } });
		const requested = (after.body.match(/data-testid="open-requests"/g) ?? []).length;
		if (requested < Math.min(FANOUT_ROUNDS, INCIDENTS)) throw new Error(`/board after the changes shows ${requested} open requests`);
		await stopApp();

		const uncachedMs = Math.max(3_000, Math.round(LOAD_MS / 2));
		process.stdout.write(`Reference: every request rendered (WARROOM_PAGE_CACHE_MS=0), ${uncachedMs / 1000} s…\n`);
		await startApp({ WARROOM_PAGE_CACHE_MS: '0' });
		const u = await loadBoard({ port: PORT, path: '/board', cookies, concurrency: CONCURRENCY, loadMs: uncachedMs, appPid: child?.pid });
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
