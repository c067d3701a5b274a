import { expect, test } from '@playwright/test';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// The production process itself: health, unknown upgrade paths, one process per PGlite directory,
// and a graceful, idempotent shutdown.

function freePort(): Promise<number> {
	return new Promise((resolve) => {
		const s = net.createServer().listen(0, '127.0.0.1', () => {
			const port = (s.address() as net.AddressInfo).port;
			s.close(() => resolve(port));
		});
	});
}

function start(env: Record<string, string>): {
	proc: ChildProcessWithoutNullStreams;
	output: () => string;
	exited: Promise<number | null>;
} {
	const proc = spawn(process.execPath, ['build-server/server/index.js'], { env: { ...process.env, LOG_LEVEL: 'info', ...env } });
	let out = '';
	proc.stdout.on('data', (d) => (out += d));
	proc.stderr.on('data', (d) => (out += d));
	const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
	return { proc, output: () => out, exited };
}

async function waitFor(url: string, ms = 60_000): Promise<void> {
	const until = Date.now() + ms;
	while (Date.now() < until) {
		try {
			if ((await fetch(url)).ok) return;
		} catch {
			// not listening yet
		}
		await new Promise((r) => setTimeout(r, 250));
	}
	throw new Error(`${url} did not come up`);
}

test('the health endpoint reports the database, version and uptime', async ({ request }) => {
	const res = await request.get('/api/health');
	expect(res.status()).toBe(200);
	const body = await res.json();
	expect(body).toMatchObject({ status: 'ok', database: { reachable: true, kind: 'pglite' }, version: expect.any(String) });
	expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
});

test('an upgrade to an unknown path gets a 404 and the socket is closed', async ({ baseURL }) => {
	const url = new URL(baseURL!);
	const status = await new Promise<number | undefined>((resolve, reject) => {
		const req = http.request({
			host: url.hostname,
			port: url.port,
			path: '/no-such-socket',
			headers: {
				connection: 'Upgrade',
				upgrade: 'websocket',
				'sec-websocket-version': '13',
				'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ=='
			}
		});
		req.on('response', (res) => resolve(res.statusCode));
		req.on('upgrade', () => reject(new Error('upgraded')));
		req.on('error', reject);
		req.end();
	});
	expect(status).toBe(404);
});

test('a second process on the same data directory stops with a clear message, and SIGTERM shuts down gracefully', async () => {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warroom-proc-'));
	const [p1, p2] = [await freePort(), await freePort()];
	const first = start({ PORT: String(p1), WARROOM_DATA_DIR: dataDir, WARROOM_DEMO: '0', ORIGIN: '' });
	await waitFor(`http://localhost:${p1}/api/health`);

	const second = start({ PORT: String(p2), WARROOM_DATA_DIR: dataDir, WARROOM_DEMO: '0', ORIGIN: '' });
	expect(await second.exited).toBe(1);
	expect(second.output()).toContain('is in use by another Warroom process');

	first.proc.kill('SIGTERM');
	first.proc.kill('SIGTERM'); // idempotent: a second signal does not break the shutdown
	expect(await first.exited).toBe(0);
	expect(first.output()).toContain('"msg":"stopped"');
	expect(fs.existsSync(path.join(dataDir, 'warroom.lock'))).toBe(false);
});

test('outside demo mode no demo account exists', async () => {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warroom-nodemo-'));
	const port = await freePort();
	const p = start({ PORT: String(port), WARROOM_DATA_DIR: dataDir, WARROOM_DEMO: '0', ORIGIN: '' });
	await waitFor(`http://localhost:${port}/api/health`);
	const res = await fetch(`http://localhost:${port}/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://localhost:${port}`, accept: 'application/json' },
		body: 'username=admin&password=demo-password'
	});
	const body = await res.text();
	expect(body).toContain('invalid_credentials');
	expect(p.output()).not.toContain('demo-password');
	p.proc.kill('SIGTERM');
	expect(await p.exited).toBe(0);
});

test("the process warms up its collaboration paths before it is ready, and keeps a reconnect storm's handshakes queued", async () => {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warroom-start-'));
	const port = await freePort();
	const p = start({ PORT: String(port), WARROOM_DATA_DIR: dataDir, WARROOM_DEMO: '0', ORIGIN: '' });
	try {
		await waitFor(`http://localhost:${port}/api/health`);
		const out = p.output();
		const warmed = /"msg":"collab: warmed up the paths of a room's first clients","ms":\d+,"rounds":(\d+),"queries":(\d+)/.exec(out);
		expect(warmed, out).not.toBeNull();
		expect(Number(warmed![1])).toBeGreaterThanOrEqual(1);
		expect(Number(warmed![2])).toBeGreaterThanOrEqual(4);
		expect(warmed!.index).toBeLessThan(out.indexOf('"msg":"warroom ready"'));

		// The listening socket's accept queue (ss shows it as Send-Q): 4,096, or the kernel's cap below that.
		const ss = spawnSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
		test.skip(!!ss.error || ss.status !== 0, 'ss (iproute2) is not available to read the listen backlog');
		const somaxconn = Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
		const [state, , sendQ] = ss.stdout.trim().split(/\s+/);
		expect(state).toBe('LISTEN');
		expect(Number(sendQ)).toBe(Math.min(4096, somaxconn));
	} finally {
		p.proc.kill('SIGTERM');
		await p.exited;
	}
});
