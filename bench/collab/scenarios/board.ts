/**
 * Status board (issue 9's "status board requests/s"; issue 7's benchmark, `bench/board.bench.ts`, also
 * times the page cache off and the fan-out to live streams): `/board` of ours' production build with
 * 100 active incidents over 12 services, requested by 50 keep-alive connections shared by 10 signed-in
 * executives (role viewer), each request asking for gzip as browsers do.
 *
 * The board has a database of its own, seeded once per run through the real services (`bench/board-load.ts`),
 * and its own process of ours, started for each measurement on the server's CPU beside the running
 * target (idle meanwhile): the target's database holds every other scenario's incidents, and a board
 * shows every active incident, so its page would grow with the run. Ours only: the others have no
 * board. The requests come from the generator's one core, so requests/s may be the generator's limit;
 * the app's CPU time per request (from /proc) is the server's own cost.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { boardLogin, checkBoard, loadBoard, seedBoard, waitForBoardApp } from '../../board-load';
import { LagGuard } from '../harness/lag';
import { disposeSeed, freePort, HOST, ROOT, spawnPinned } from '../targets/common';
import type { Point, RunningTarget, ScenarioContext } from '../types';
import type { Scenario } from './index';

const NAME = 'board';
const INCIDENTS = 100;
const SERVICES = 12;
const VIEWERS = 10;
const CONNECTIONS = 50;
const START_TIMEOUT_MS = 60_000;

interface BoardDb {
	ctx: import('../../../tests/helpers/context').TestContext;
	dataDir: string;
	viewers: string[];
	/** Sessions are rows: the viewers sign in once per run. */
	cookies: string[];
}
let prepared: Promise<BoardDb> | undefined;

async function prepare(ctx: ScenarioContext): Promise<BoardDb> {
	const t0 = performance.now();
	// Imported here: the helper reads TEST_DATABASE_URL when it is imported (targets/ours.ts sets its default).
	const { createTestContext } = await import('../../../tests/helpers/context');
	const db = await createTestContext();
	if (!db.databaseUrl) {
		await db.close();
		throw new Error('the board needs a PostgreSQL database (TEST_DATABASE_URL)');
	}
	const seed = await seedBoard(db, { incidents: INCIDENTS, services: SERVICES, viewers: VIEWERS, prefix: 'board' });
	ctx.log(`board: seeded ${INCIDENTS} incidents, ${VIEWERS} viewers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
	return { ctx: db, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'warroom-board-')), viewers: seed.viewers, cookies: [] };
}

/** The CPU the target runs on (the board's process goes there too). */
function cpuOf(pid: number): number {
	const list = execFileSync('taskset', ['-cp', String(pid)])
		.toString()
		.split(':')
		.pop()!
		.trim();
	const cpu = Number(list.split(/[,-]/)[0]);
	if (!Number.isInteger(cpu)) throw new Error(`cannot read the CPU of ${pid}: ${list}`);
	return cpu;
}

async function run(target: RunningTarget, ctx: ScenarioContext): Promise<Point[]> {
	prepared ??= prepare(ctx);
	const board = await prepared;
	const entry = path.join(ROOT, 'build-server/server/index.js');
	const port = await freePort();
	const origin = `http://${HOST}:${port}`;
	const app = spawnPinned(cpuOf(target.pid), [entry], {
		NODE_ENV: 'production',
		HOST,
		PORT: String(port),
		ORIGIN: origin,
		DATABASE_URL: board.ctx.databaseUrl,
		WARROOM_DATA_DIR: board.dataDir,
		WARROOM_DEMO: '0',
		// No scheduled jobs during the measurement: a clock tick would add unrelated load.
		WARROOM_JOBS: '0',
		LOG_LEVEL: 'warn'
	});
	try {
		try {
			await waitForBoardApp(port, () => app.proc.exitCode, START_TIMEOUT_MS);
		} catch (error) {
			throw new Error(`the board's app: ${error instanceof Error ? error.message : String(error)}:\n${app.output().slice(-3000)}`);
		}
		if (board.cookies.length === 0) for (const viewer of board.viewers) board.cookies.push(await boardLogin(port, viewer));
		const page = await checkBoard(port, board.cookies[0]!, INCIDENTS);
		ctx.check('the board showed every active incident', true, `${INCIDENTS} incidents, ${page.htmlKiB.toFixed(0)} KiB of HTML`);
		// Untimed: the process's first requests compile its code.
		await loadBoard({ port, path: '/board', cookies: board.cookies, concurrency: CONNECTIONS, loadMs: 1_000, appPid: app.pid });
		const guard = new LagGuard();
		guard.start();
		const l = await loadBoard({
			port,
			path: '/board',
			cookies: board.cookies,
			concurrency: CONNECTIONS,
			loadMs: ctx.quick ? 3_000 : 10_000,
			appPid: app.pid
		});
		const lag = guard.stop();
		ctx.log(
			`board: ${l.rps.toFixed(0)} req/s (${l.ok} ok, ${l.failed} failed, ${l.cached.hit} from the page cache), p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, app CPU ${l.cpuMsPerRequest.toFixed(2)} ms/request, lag p99 ${lag.p99Ms.toFixed(1)} ms`
		);
		ctx.check('every board request succeeded', l.failed === 0 && l.ok > 0, `${l.ok} ok, ${l.failed} failed`);
		const row = `${INCIDENTS} active incidents (${page.sentKiB.toFixed(0)} KiB gzip), ${CONNECTIONS} connections, ${VIEWERS} viewers`;
		const p = (measure: string, value: number, better: 'lower' | 'higher', note?: string): Point => ({
			scenario: NAME,
			row,
			measure,
			target: 'ours',
			value,
			better,
			discarded: lag.lagged,
			note
		});
		return [
			p('req/s', l.rps, 'higher', "issue 7's goal: ≥ 1,000 req/s"),
			p('p50 ms', l.p50, 'lower'),
			p('p99 ms', l.p99, 'lower'),
			p('app CPU ms per request', l.cpuMsPerRequest, 'lower')
		];
	} finally {
		await app.stop();
	}
}

/** Ends the run: drops the board's database and data directory. */
async function dispose(): Promise<void> {
	if (!prepared) return;
	const board = prepared;
	prepared = undefined;
	await disposeSeed(board);
}

export const board: Scenario = {
	name: NAME,
	title: 'Status board requests/s',
	description:
		`Ours only (the others have no board): \`/board\` of the production build with ${INCIDENTS} active incidents over ${SERVICES} services, on a database of its own seeded through the real services, served by a second process of ours on the server's CPU; ${CONNECTIONS} keep-alive connections shared by ${VIEWERS} signed-in executives request it (gzip) for 10 s after 1 s untimed. ` +
		'Rendered pages are kept per viewer for at most WARROOM_PAGE_CACHE_MS (5 s) and dropped on any change (bench/board.bench.ts also times the cache off and the fan-out of a change to live streams). ' +
		"The generator's one core sends the requests, so requests/s may be its limit; the app's CPU time per request is the server's own cost.",
	quick: '3 s of load (full: 10 s).',
	targets: ['ours'],
	run,
	dispose
};
