/**
 * The production process (`node build-server/server/index.js`) on a loopback port with its own PGlite
 * directory, and an HTTP login that returns the session cookie the way a browser gets it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const DEMO_PASSWORD = 'demo-password';
const ROOT = path.resolve(import.meta.dirname, '../../..');

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const port = (s.address() as net.AddressInfo).port;
			s.close(() => resolve(port));
		});
	});
}

export interface ProdServer {
	port: number;
	origin: string;
	dataDir: string;
	proc: ChildProcess;
	/** The last ~1–2 MB of stdout + stderr (older output is dropped; count lines with `onLine`). */
	output(): string;
	/** Calls `fn` with every complete line of stdout and stderr from now on (nothing is dropped). */
	onLine(fn: (line: string) => void): void;
	exited: Promise<number | null>;
	/** SIGTERM and wait. */
	stop(): Promise<void>;
	/** SIGKILL and wait: no flush, no goodbye. */
	kill(): Promise<void>;
}

export async function startProdServer(
	opts: { port?: number; dataDir?: string; env?: Record<string, string>; readyMs?: number } = {}
): Promise<ProdServer> {
	const port = opts.port ?? (await freePort());
	const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'warroom-rel-'));
	const origin = `http://127.0.0.1:${port}`;
	const entry = process.env.WARROOM_RELIABILITY_ENTRY ?? path.join(ROOT, 'build-server/server/index.js');
	const proc = spawn(process.execPath, [entry], {
		cwd: ROOT,
		env: {
			...process.env,
			NODE_ENV: 'production',
			LOG_LEVEL: 'warn',
			HOST: '127.0.0.1',
			PORT: String(port),
			WARROOM_DATA_DIR: dataDir,
			WARROOM_DEMO: '1',
			ORIGIN: origin,
			DATABASE_URL: '',
			...opts.env
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let out = '';
	const lineListeners: ((line: string) => void)[] = [];
	const lineReader = () => {
		let partial = '';
		return (d: Buffer) => {
			const text = d.toString();
			out += text;
			if (out.length > 2_000_000) out = out.slice(-1_000_000);
			if (lineListeners.length === 0) return;
			const lines = (partial + text).split('\n');
			partial = lines.pop()!;
			for (const line of lines) for (const fn of lineListeners) fn(line);
		};
	};
	proc.stdout!.on('data', lineReader());
	proc.stderr!.on('data', lineReader());
	const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
	const server: ProdServer = {
		port,
		origin,
		dataDir,
		proc,
		output: () => out,
		onLine: (fn) => void lineListeners.push(fn),
		exited,
		async stop() {
			if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
			await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
			if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
			await exited;
		},
		async kill() {
			if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
			await exited;
		}
	};
	const until = Date.now() + (opts.readyMs ?? 90_000);
	let last = 'no answer';
	while (Date.now() < until) {
		if (proc.exitCode !== null) throw new Error(`the server exited (${proc.exitCode}):\n${out.slice(-3000)}`);
		try {
			const res = await fetch(`${origin}/api/health`);
			if (res.ok) return server;
			last = `${res.status} ${(await res.text()).slice(0, 300)}`;
		} catch {
			// not listening yet
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	await server.kill();
	throw new Error(`the server did not come up on ${origin} (health: ${last}):\n${out.slice(-3000)}`);
}

export function cookieFrom(res: Response, name = 'warroom_session'): string | undefined {
	for (const c of res.headers.getSetCookie()) {
		const [pair] = c.split(';');
		const eq = pair!.indexOf('=');
		if (pair!.slice(0, eq).trim() === name) return pair!.slice(eq + 1).trim();
	}
	return undefined;
}

/** POST /login as a browser form (Origin set), JSON answer; returns the response and the new session token. */
export async function postLogin(
	s: { origin: string },
	opts: { username: string; password?: string; cookie?: string; origin?: string | null }
): Promise<{ res: Response; body: string; token: string | undefined; ms: number }> {
	const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
	const origin = opts.origin === undefined ? s.origin : opts.origin;
	if (origin) headers.origin = origin;
	if (opts.cookie) headers.cookie = opts.cookie;
	const t0 = performance.now();
	const res = await fetch(`${s.origin}/login`, {
		method: 'POST',
		headers,
		body: new URLSearchParams({ username: opts.username, password: opts.password ?? DEMO_PASSWORD }).toString(),
		redirect: 'manual'
	});
	const body = await res.text();
	return { res, body, token: cookieFrom(res), ms: performance.now() - t0 };
}

export async function loginCookie(s: { origin: string }, username: string): Promise<string> {
	const r = await postLogin(s, { username });
	if (!r.token) throw new Error(`login as ${username} failed: ${r.res.status} ${r.body.slice(0, 300)}`);
	return `warroom_session=${r.token}`;
}
