/**
 * Target D: ours, the production build (`node build-server/server/index.js`, NODE_ENV=production) with
 * authentication and PostgreSQL persistence on. One fresh database per run (dropped by `dispose`),
 * seeded through the real services: managers (ours allows 20 sockets per user, so clients are spread
 * over them; 96, quick 64) logged in once over HTTP, and an incident per room. Each `start` is a fresh
 * process on that database; sessions are rows, so the cookies stay valid across restarts. The users
 * are made (password hashing, on the generator's CPU) while the first process boots (on the server's).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SESSION_CACHE_MS } from '../../../src/lib/server/auth/sessions';
import { ACCESS_CACHE_MS } from '../../../src/lib/server/collab/collab-server';
import { DEFAULT_ROOM_OPTIONS } from '../../../src/lib/server/collab/room-manager';
import type { RunningTarget, TargetOptions, TargetStats } from '../types';
import { cpuTimesOf, disposeSeed, freePort, HOST, ROOT, rssOf, spawnPinned } from './common';

const PASSWORD = 'bench-password-123';
/**
 * 96 × 20 sockets = 1,920: room for the 1,000-client points and the rooms scenario's 1,500 clients, plus
 * the full clients. Quick: 64 × 20 = 1,280 for its 1,003 at most (the scribe's 1,000 readers).
 */
const USERS = { full: 96, quick: 64 };
const START_TIMEOUT_MS = 60_000;

process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';

type Users = { manager: import('../../../src/lib/server/context').Actor; usernames: string[] };
type Seed = {
	ctx: import('../../../tests/helpers/context').TestContext;
	dataDir: string;
	/** Made once per run, while the first process boots. */
	users?: Promise<Users>;
	cookies: string[];
};
let seeding: Promise<Seed> | undefined;

function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
	return r.value;
}

/** A fresh, migrated database (the server needs it to start) and a data directory. */
async function seed(): Promise<Seed> {
	// Imported lazily: the helper reads TEST_DATABASE_URL at import time and opens a database.
	const { createTestContext } = await import('../../../tests/helpers/context');
	const ctx = await createTestContext();
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warroom-bench-'));
	return { ctx, dataDir, cookies: [] };
}

/**
 * Ours' database is part of the server side: while a process of ours runs, the local PostgreSQL
 * server's processes (its postmaster, and so every backend it forks) run on the server's CPU too.
 * Left floating, a commit's backend and the WAL writer also ran on the generator's CPU and delayed the
 * generator's receipt of other targets' and ours' messages (the scribe's 100-reader point, stop 15).
 * Restored when the process stops. Only a server on this machine whose data directory we can read
 * (`postmaster.pid`) is pinned; otherwise it says why and the run goes on unpinned.
 */
let databasePinning = 'not started';
/** The pinned PostgreSQL server's postmaster while ours runs (its processes count in `cpu`). */
let pinnedPostmaster: number | undefined;

/** How ours' PostgreSQL server was placed in this run (for the report's header). */
export function databasePlacement(): string {
	return databasePinning;
}

function affinityOf(pid: number): string {
	const out = execFileSync('taskset', ['-cp', String(pid)], { encoding: 'utf8' });
	const m = /affinity list:\s*(\S+)/.exec(out);
	if (!m) throw new Error(`taskset -cp ${pid}: ${out.trim()}`);
	return m[1]!;
}

function setAffinity(pids: number[], cpus: string): void {
	for (const pid of pids) {
		try {
			execFileSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' });
		} catch {
			// A backend that ended meanwhile.
		}
	}
}

function postgresProcesses(postmaster: number): number[] {
	let children: number[] = [];
	try {
		children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
			.split('\n')
			.filter(Boolean)
			.map(Number);
	} catch {
		// pgrep exits 1 when there are none.
	}
	return [postmaster, ...children];
}

async function pinDatabase(ctx: Seed['ctx'], cpu: number): Promise<() => void> {
	try {
		if (!ctx.databaseUrl) throw new Error('an embedded database');
		const url = new URL(ctx.databaseUrl);
		if (!['127.0.0.1', 'localhost', '::1', '[::1]', ''].includes(url.hostname)) throw new Error(`${url.hostname} is not this machine`);
		const { sql } = await import('kysely');
		const { rows } = await sql<{ data_directory: string }>`show data_directory`.execute(ctx.db);
		const dir = rows[0]?.data_directory;
		if (!dir) throw new Error('no data_directory');
		const postmaster = Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
		if (!Number.isInteger(postmaster) || postmaster <= 0) throw new Error('unreadable postmaster.pid');
		const before = affinityOf(postmaster);
		setAffinity(postgresProcesses(postmaster), String(cpu));
		databasePinning = `its PostgreSQL server (postmaster ${postmaster} and its processes) pinned with it to CPU ${cpu}`;
		// Put back when ours stops, or as the generator exits if it dies first (a server left pinned to
		// the server's CPU would skew every later run on the machine).
		const restore = () => setAffinity(postgresProcesses(postmaster), before);
		process.once('exit', restore);
		pinnedPostmaster = postmaster;
		return () => {
			pinnedPostmaster = undefined;
			process.off('exit', restore);
			restore();
		};
	} catch (error) {
		databasePinning = `its PostgreSQL server not pinned (${error instanceof Error ? error.message : String(error)})`;
		return () => undefined;
	}
}

async function makeUsers(ctx: Seed['ctx'], count: number): Promise<Users> {
	const { makeUser } = await import('../../../tests/helpers/context');
	const usernames: string[] = [];
	let manager: Users['manager'] | undefined;
	// Eight at a time: password hashing runs on the thread pool.
	for (let i = 0; i < count; i += 8) {
		const batch = Array.from({ length: Math.min(8, count - i) }, (_, k) => `bench-${i + k}`);
		const made = await Promise.all(
			batch.map((username) => makeUser(ctx, { role: 'manager', username, password: PASSWORD, displayName: username }))
		);
		manager ??= made[0]!.actor;
		usernames.push(...batch);
	}
	return { manager: manager!, usernames };
}

async function login(origin: string, username: string): Promise<string> {
	const res = await fetch(`${origin}/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', origin },
		body: new URLSearchParams({ username, password: PASSWORD }).toString(),
		redirect: 'manual'
	});
	await res.text();
	for (const c of res.headers.getSetCookie()) if (c.startsWith('warroom_session=')) return c.split(';')[0]!;
	throw new Error(`login as ${username} failed: ${res.status}`);
}

export async function start(opts: TargetOptions): Promise<RunningTarget> {
	const entry = path.join(ROOT, 'build-server/server/index.js');
	if (!fs.existsSync(entry)) throw new Error('no build: run `npm run build` first');
	const t0 = performance.now();
	const firstStart = seeding === undefined;
	seeding ??= seed();
	const s = await seeding;
	const port = await freePort();
	const origin = `http://${HOST}:${port}`;
	const unpinDatabase = await pinDatabase(s.ctx, opts.cpu);
	const child = spawnPinned(opts.cpu, [entry], {
		NODE_ENV: 'production',
		HOST,
		PORT: String(port),
		ORIGIN: origin,
		DATABASE_URL: s.ctx.databaseUrl,
		WARROOM_DATA_DIR: s.dataDir,
		WARROOM_DEMO: '0',
		WARROOM_JOBS: '0',
		LOG_LEVEL: 'warn'
	});
	// The users are made while the process boots (hashing here, booting on the server's CPU).
	const userCount = opts.quick ? USERS.quick : USERS.full;
	const usersMade = (s.users ??= makeUsers(s.ctx, userCount)).then(() => performance.now());
	usersMade.catch(() => undefined);
	let users: Users;
	let healthyAt: number;
	try {
		const until = Date.now() + START_TIMEOUT_MS;
		for (;;) {
			if (child.proc.exitCode !== null) throw new Error(`ours exited (${child.proc.exitCode}):\n${child.output().slice(-3000)}`);
			if (Date.now() > until) throw new Error(`ours did not become healthy:\n${child.output().slice(-3000)}`);
			const ok = await fetch(`${origin}/api/health`).then(
				(r) => r.ok,
				() => false
			);
			if (ok) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		healthyAt = performance.now();
		users = await s.users;
		// Sessions are rows: log in once per run (ORIGIN changes with the port, but the cookie does not care).
		if (s.cookies.length === 0)
			for (let i = 0; i < users.usernames.length; i += 8)
				s.cookies.push(...(await Promise.all(users.usernames.slice(i, i + 8).map((u) => login(origin, u)))));
	} catch (error) {
		await child.stop();
		unpinDatabase();
		throw error;
	}
	const secs = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
	opts.log?.(
		`ours: healthy in ${secs(t0, healthyAt)} s` +
			(firstStart
				? ` (a fresh database; ${users.usernames.length} users made in ${secs(t0, await usersMade)} s meanwhile), logged them in by ${secs(t0, performance.now())} s`
				: '') +
			`; ${databasePinning}`
	);
	return {
		name: 'ours',
		pid: child.pid,
		wsUrl: (room) => `ws://${HOST}:${port}/collab/${encodeURIComponent(room)}`,
		headers: () => ({ Cookie: s.cookies[0]!, Origin: origin }),
		clientHeaders: (i) => ({ Cookie: s.cookies[i % s.cookies.length]!, Origin: origin }),
		async rooms(n) {
			const { declareIncident } = await import('../../../src/lib/server/services/incident.service');
			const ids: string[] = [];
			for (let i = 0; i < n; i++) {
				const r = must(await declareIncident(s.ctx, users.manager, { title: `Bench room ${i + 1}`, impact: 'moderate', urgency: 'high' }));
				ids.push(r.incident.id);
			}
			return ids;
		},
		persistent: true,
		async stats() {
			// `collabStats` is shown to a loopback caller that sent no proxy headers (or to an admin): this request.
			const res = await fetch(`${origin}/api/health`, { signal: AbortSignal.timeout(5_000) });
			const body = (await res.json()) as { collabStats?: TargetStats };
			if (!body.collabStats) throw new Error(`ours: /api/health (${res.status}) has no collabStats for this loopback request`);
			return body.collabStats;
		},
		upgradeCacheMs: Math.max(SESSION_CACHE_MS, ACCESS_CACHE_MS),
		roomRelease: {
			afterMs: DEFAULT_ROOM_OPTIONS.roomIdleMs,
			note: `counts from /api/health collabStats (every room loaded in the process); ours unloads a room ${DEFAULT_ROOM_OPTIONS.roomIdleMs / 1000} s after its last client left (roomIdleMs in room-manager.ts; no environment setting, so quick waits for it too)`
		},
		memory: () => child.memoryAfterGc(),
		rssBytes: () => rssOf(child.pid),
		// An unpinned database server (not on this machine) is not on the server's CPU: the process alone.
		cpu: () => cpuTimesOf(child.pid, pinnedPostmaster === undefined ? [] : postgresProcesses(pinnedPostmaster)),
		async stop() {
			try {
				await child.stop();
			} finally {
				unpinDatabase();
			}
		}
	};
}

/** Ends the run: closes the seeding connection and drops the run's database. */
export async function dispose(): Promise<void> {
	if (!seeding) return;
	const s = seeding;
	seeding = undefined;
	await disposeSeed(s);
}

/** The run's database URL (the persistence scenarios may read it). */
export async function databaseUrl(): Promise<string | undefined> {
	return seeding ? (await seeding).ctx.databaseUrl : undefined;
}
