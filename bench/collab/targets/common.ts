/**
 * What every target launcher shares: a free loopback port, a child process pinned to one CPU with
 * `taskset -c`, waiting until it listens, its resident set size from /proc, its memory after a forced
 * garbage collection (the preloaded gc-hook.mjs), and a bounded stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { processCpuNs } from '../../proc';
import type { CpuTimes, TargetMemory } from '../types';

export const HOST = '127.0.0.1';
export const ROOT = path.resolve(import.meta.dirname, '../../..');

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, HOST, () => {
			const port = (s.address() as net.AddressInfo).port;
			s.close(() => resolve(port));
		});
	});
}

export interface PinnedChild {
	proc: ChildProcess;
	pid: number;
	output(): string;
	/** Memory after two full garbage collections in the child (SIGUSR2 to gc-hook.mjs); bounded in time. */
	memoryAfterGc(): Promise<TargetMemory>;
	stop(): Promise<void>;
}

/** Preloaded into every target: a full GC and a memory line on SIGUSR2, nothing otherwise. */
const GC_HOOK = ['--expose-gc', '--import', pathToFileURL(path.join(import.meta.dirname, 'gc-hook.mjs')).href];

/**
 * Targets still running. If the generator dies (an uncaught error), its targets would otherwise go on
 * running, pinned to the server's CPU, and skew every later run on the machine: they are killed as
 * the generator exits, however it exits ('exit' runs after an uncaught exception too).
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
	for (const proc of running) proc.kill('SIGKILL');
});

/** Starts `node <args>` under `taskset -c <cpu>` (taskset execs node, so the pid is node's). */
export function spawnPinned(cpu: number, nodeArgs: string[], env: Record<string, string | undefined>): PinnedChild {
	const extra = (process.env.BENCH_TARGET_NODE_ARGS ?? '').split(' ').filter(Boolean);
	const proc = spawn('taskset', ['-c', String(cpu), process.execPath, ...extra, ...GC_HOOK, ...nodeArgs], {
		cwd: ROOT,
		env: { ...process.env, ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let out = '';
	const keep = (d: Buffer) => {
		out += d.toString();
		if (out.length > 200_000) out = out.slice(-100_000);
	};
	proc.stdout!.on('data', keep);
	proc.stderr!.on('data', keep);
	// For a look at what a target printed (with --trace-gc in BENCH_TARGET_NODE_ARGS, say): all of it, to a file.
	const dir = process.env.BENCH_TARGET_OUTPUT_DIR;
	if (dir) {
		fs.mkdirSync(dir, { recursive: true });
		const file = fs.createWriteStream(path.join(dir, `${path.basename(nodeArgs.at(-1) ?? 'node')}.${proc.pid ?? 'x'}.log`));
		proc.stdout!.pipe(file, { end: false });
		proc.stderr!.pipe(file, { end: false });
		proc.once('exit', () => file.end());
	}
	running.add(proc);
	const exited = new Promise<void>((r) =>
		proc.once('exit', () => {
			running.delete(proc);
			r();
		})
	);
	if (proc.pid === undefined) throw new Error('could not spawn taskset/node');
	let gcs = 0;
	return {
		proc,
		pid: proc.pid,
		output: () => out,
		async memoryAfterGc() {
			const n = ++gcs;
			const re = new RegExp(`^bench-gc ${n} (\\{.*\\})$`, 'm');
			proc.kill('SIGUSR2');
			const until = Date.now() + 10_000;
			for (;;) {
				const m = re.exec(out.slice(-20_000));
				if (m) {
					const got = JSON.parse(m[1]!) as TargetMemory & { collected: boolean };
					if (!got.collected) throw new Error('the target ran without --expose-gc: no forced collection');
					return { rss: got.rss, heapUsed: got.heapUsed, external: got.external, young: got.young };
				}
				if (proc.exitCode !== null || Date.now() > until) throw new Error(`no answer from the target's gc hook (bench-gc ${n})`);
				await new Promise((r) => setTimeout(r, 20));
			}
		},
		async stop() {
			if (proc.exitCode !== null || proc.signalCode !== null) return;
			proc.kill('SIGTERM');
			const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
			await exited;
			clearTimeout(t);
		}
	};
}

/**
 * Ends what a run seeded for itself once its setup settled: closes the context (which drops its
 * database) and removes its data directory. A setup that failed left nothing to end.
 */
export async function disposeSeed(seed: Promise<{ ctx: { close(): Promise<void> }; dataDir: string }>): Promise<void> {
	const s = await seed.catch(() => undefined);
	if (!s) return;
	await s.ctx.close();
	fs.rmSync(s.dataDir, { recursive: true, force: true });
}

/** Resolves once something accepts TCP connections on the port; bounded in time. */
export async function waitForPort(child: PinnedChild, port: number, timeoutMs = 30_000): Promise<void> {
	const until = Date.now() + timeoutMs;
	while (Date.now() < until) {
		if (child.proc.exitCode !== null) throw new Error(`target exited (${child.proc.exitCode}):\n${child.output().slice(-2000)}`);
		const ok = await new Promise<boolean>((resolve) => {
			const s = net.connect(port, HOST, () => {
				s.destroy();
				resolve(true);
			});
			s.on('error', () => resolve(false));
		});
		if (ok) return;
		await new Promise((r) => setTimeout(r, 100));
	}
	await child.stop();
	throw new Error(`target did not listen on ${port} within ${timeoutMs} ms:\n${child.output().slice(-2000)}`);
}

export async function rssOf(pid: number): Promise<number> {
	try {
		const status = await fs.promises.readFile(`/proc/${pid}/status`, 'utf8');
		const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
		return kb ? Number(kb) * 1024 : NaN;
	} catch {
		return NaN;
	}
}

/**
 * CPU times of a target process and of its database's processes, so far. Differences of them give a
 * point's server-side cost; a thread or process that ended between two readings takes its time with
 * it, so they are read over windows in which those live (a target's process, a pool's backends).
 */
export async function cpuTimesOf(pid: number, databasePids: number[] = []): Promise<CpuTimes> {
	const own = (await processCpuNs(pid)) ?? { main: 0, rest: 0 };
	let database = 0;
	for (const p of databasePids) {
		const ns = await processCpuNs(p);
		if (ns) database += ns.main + ns.rest;
	}
	return { main: own.main / 1e6, threads: own.rest / 1e6, database: database / 1e6 };
}

let roomSeq = 0;
/** Room names for targets without access control: unique within the run. */
export function plainRooms(n: number): string[] {
	const base = Date.now().toString(36);
	return Array.from({ length: n }, () => `bench-${base}-${roomSeq++}`);
}

/** `node --import tsx <script>`: the target servers are TypeScript files next to their launchers. */
export function tsxArgs(script: string): string[] {
	return ['--import', 'tsx', path.join(import.meta.dirname, script)];
}
