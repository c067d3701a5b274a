/**
 * CPU time of a process from /proc, for the benchmarks (the collab harness's targets, the status
 * board's app): every thread's time on a CPU, user and system, in nanoseconds from
 * `/proc/<pid>/task/<tid>/schedstat`, split into the main thread (a Node process's event loop) and
 * the rest (V8's workers, libuv's pool). A thread that ended takes its time with it, so differences are
 * read over windows in which the threads live.
 */
import fs from 'node:fs';

/** Nanoseconds on a CPU of one thread, 0 if it ended. */
async function threadNs(pid: number, tid: string): Promise<number> {
	try {
		return Number((await fs.promises.readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')).split(' ')[0]);
	} catch {
		return 0;
	}
}

/** Nanoseconds on a CPU of every thread of a process, main thread and the rest; undefined if it cannot be read. */
export async function processCpuNs(pid: number): Promise<{ main: number; rest: number } | undefined> {
	let tids: string[];
	try {
		tids = await fs.promises.readdir(`/proc/${pid}/task`);
	} catch {
		return undefined;
	}
	let main = 0;
	let rest = 0;
	for (const tid of tids) {
		const ns = await threadNs(pid, tid);
		if (tid === String(pid)) main += ns;
		else rest += ns;
	}
	return { main, rest };
}

/** CPU time a process has used, every thread, in ms (NaN if it cannot be read). */
export async function processCpuMs(pid: number | undefined): Promise<number> {
	const ns = pid ? await processCpuNs(pid) : undefined;
	return ns ? (ns.main + ns.rest) / 1e6 : NaN;
}
