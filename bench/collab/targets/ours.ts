/**
 * Target D: ours, the production build (`node build-server/server/index.js`, NODE_ENV=production) with
 * authentication and PostgreSQL persistence on. One fresh database per run (dropped by `dispose`),
 * seeded through the real services: USERS managers (ours allows 20 sockets per user, so clients are
 * spread over them) logged in once over HTTP, and an incident per room. Each `start` is a fresh process
 * on that database; sessions are rows, so the cookies stay valid across restarts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningTarget, TargetOptions } from '../types';
import { freePort, HOST, ROOT, rssOf, spawnPinned } from './common';

const PASSWORD = 'bench-password-123';
/** 96 × 20 sockets = 1,920: room for the 1,000-client points and the rooms scenario's 1,500 clients, plus the full clients. */
const USERS = 96;
const START_TIMEOUT_MS = 60_000;

process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';

type Seed = {
	ctx: import('../../../tests/helpers/context').TestContext;
	manager: import('../../../src/lib/server/context').Actor;
	usernames: string[];
	dataDir: string;
	cookies: string[];
};
let seeding: Promise<Seed> | undefined;

function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
	return r.value;
}

async function seed(): Promise<Seed> {
	// Imported lazily: the helper reads TEST_DATABASE_URL at import time and opens a database.
	const { createTestContext, makeUser } = await import('../../../tests/helpers/context');
	const ctx = await createTestContext();
	const usernames: string[] = [];
	let manager: Seed['manager'] | undefined;
	// Eight at a time: password hashing runs on the thread pool.
	for (let i = 0; i < USERS; i += 8) {
		const batch = Array.from({ length: Math.min(8, USERS - i) }, (_, k) => `bench-${i + k}`);
		const made = await Promise.all(
			batch.map((username) => makeUser(ctx, { role: 'manager', username, password: PASSWORD, displayName: username }))
		);
		manager ??= made[0]!.actor;
		usernames.push(...batch);
	}
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warroom-bench-'));
	return { ctx, manager: manager!, usernames, dataDir, cookies: [] };
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
	seeding ??= seed();
	const s = await seeding;
	const port = await freePort();
	const origin = `http://${HOST}:${port}`;
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
	const until = Date.now() + START_TIMEOUT_MS;
	for (;;) {
		if (child.proc.exitCode !== null) throw new Error(`ours exited (${child.proc.exitCode}):\n${child.output().slice(-3000)}`);
		if (Date.now() > until) {
			await child.stop();
			throw new Error(`ours did not become healthy:\n${child.output().slice(-3000)}`);
		}
		const ok = await fetch(`${origin}/api/health`).then(
			(r) => r.ok,
			() => false
		);
		if (ok) break;
		await new Promise((r) => setTimeout(r, 150));
	}
	// Sessions are rows: log in once per run (ORIGIN changes with the port, but the cookie does not care).
	if (s.cookies.length === 0)
		for (let i = 0; i < s.usernames.length; i += 8)
			s.cookies.push(...(await Promise.all(s.usernames.slice(i, i + 8).map((u) => login(origin, u)))));
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
				const r = must(await declareIncident(s.ctx, s.manager, { title: `Bench room ${i + 1}`, impact: 'moderate', urgency: 'high' }));
				ids.push(r.incident.id);
			}
			return ids;
		},
		persistent: true,
		rssBytes: () => rssOf(child.pid),
		stop: () => child.stop()
	};
}

/** Ends the run: closes the seeding connection and drops the run's database. */
export async function dispose(): Promise<void> {
	if (!seeding) return;
	const s = await seeding.catch(() => undefined);
	seeding = undefined;
	if (!s) return;
	await s.ctx.close();
	fs.rmSync(s.dataDir, { recursive: true, force: true });
}

/** The run's database URL (the persistence scenarios may read it). */
export async function databaseUrl(): Promise<string | undefined> {
	return seeding ? (await seeding).ctx.databaseUrl : undefined;
}
