/**
 * A private PostgreSQL instance for one test: its own data directory under the system temp dir, a free
 * loopback port and its own socket directory, so it can be stopped and started (or crashed with
 * `-m immediate`) without touching the machine's shared server that other tests use. PostgreSQL refuses
 * to run as root, so as root every command runs as the `postgres` user (`runuser`).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './prod-server';

/** The newest installed server binaries (Debian layout `/usr/lib/postgresql/<major>/bin`), or undefined. */
export function postgresBinDir(): string | undefined {
	const base = '/usr/lib/postgresql';
	if (!fs.existsSync(base)) return undefined;
	const majors = fs
		.readdirSync(base)
		.filter(
			(d) => /^\d+$/.test(d) && fs.existsSync(path.join(base, d, 'bin', 'pg_ctl')) && fs.existsSync(path.join(base, d, 'bin', 'initdb'))
		)
		.sort((a, b) => Number(b) - Number(a));
	return majors.length > 0 ? path.join(base, majors[0]!, 'bin') : undefined;
}

const NO_BINARIES = 'no PostgreSQL server binaries under /usr/lib/postgresql';

/**
 * For a test that needs a private instance: true where PostgreSQL's server binaries are installed;
 * otherwise it notes `<what>: skipped (why)` and skips the test.
 */
export function hasPostgresBinaries(t: { skip(): void }, note: (line: string) => void, what: string): boolean {
	if (postgresBinDir()) return true;
	note(`${what}: skipped (${NO_BINARIES})`);
	t.skip();
	return false;
}

export interface PrivatePostgres {
	port: number;
	/** `postgres://postgres@127.0.0.1:<port>/postgres` */
	url: string;
	dir: string;
	running: boolean;
	/** Starts and waits until it accepts connections; returns how long that took (ms). */
	start(): number;
	/** `fast`: disconnect clients and shut down cleanly; `immediate`: a crash (recovery from WAL on start). */
	stop(mode: 'fast' | 'immediate'): void;
	/** Stops (immediate) if running and removes the directory. Idempotent. */
	destroy(): void;
	/** The server log, for failure messages. */
	log(): string;
}

const live = new Set<PrivatePostgres>();
let exitHookInstalled = false;

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
	const bin = postgresBinDir();
	if (!bin) throw new Error(NO_BINARIES);
	const port = await freePort();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warroom-pg-'));
	const data = path.join(dir, 'data');
	const logFile = path.join(dir, 'server.log');
	const asRoot = process.getuid?.() === 0;
	if (asRoot) {
		const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
		const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
		fs.chownSync(dir, uid, gid);
	}
	const run = (cmd: string, args: string[], timeoutMs = 60_000) => {
		const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]] : [path.join(bin, cmd), args];
		return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs }).toString();
	};
	run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
	const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=50`;

	const pg: PrivatePostgres = {
		port,
		url: `postgres://postgres@127.0.0.1:${port}/postgres`,
		dir,
		running: false,
		start() {
			const t0 = performance.now();
			run('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start'], 90_000);
			pg.running = true;
			return performance.now() - t0;
		},
		stop(mode) {
			run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop'], 90_000);
			pg.running = false;
		},
		destroy() {
			if (!live.has(pg)) return;
			live.delete(pg);
			try {
				if (pg.running || fs.existsSync(path.join(data, 'postmaster.pid')))
					run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], 30_000);
			} catch {
				// not running
			}
			pg.running = false;
			fs.rmSync(dir, { recursive: true, force: true });
		},
		log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-4000) : '')
	};
	live.add(pg);
	// A crashed test run must not leave a server behind.
	if (!exitHookInstalled) {
		exitHookInstalled = true;
		process.on('exit', () => {
			for (const p of [...live]) p.destroy();
		});
	}
	try {
		pg.start();
	} catch (e) {
		const log = pg.log();
		pg.destroy();
		throw new Error(`private PostgreSQL did not start: ${(e as Error).message}\n${log}`);
	}
	return pg;
}
