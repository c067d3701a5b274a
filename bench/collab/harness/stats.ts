/** Percentiles of samples, and median with min–max over repetitions. */
import { readFileSync } from 'node:fs';

/** Collects latency samples in a growable Float64Array (cheap to push, sorts numerically). */
export class Samples {
	private buf = new Float64Array(4096);
	length = 0;
	push(v: number): void {
		if (this.length === this.buf.length) {
			const next = new Float64Array(this.buf.length * 2);
			next.set(this.buf);
			this.buf = next;
		}
		this.buf[this.length++] = v;
	}
	sorted(): Float64Array {
		return this.buf.slice(0, this.length).sort();
	}
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
	if (sorted.length === 0) return NaN;
	const rank = Math.ceil((p / 100) * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Nearest-rank percentile of unsorted values (sorts a copy); NaN when empty. */
export function percentileOf(values: readonly number[], p: number): number {
	return percentile(Float64Array.from(values).sort(), p);
}

export function median(values: number[]): number {
	if (values.length === 0) return NaN;
	const s = [...values].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** User + system CPU time of a process so far, in ms (from /proc; NaN where unavailable). */
export function cpuTimeMs(pid: number): number {
	try {
		// Fields after the command name (which may contain spaces): utime is the 12th, stime the 13th.
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		const ticks = Number(rest[11]) + Number(rest[12]);
		return (ticks * 1000) / CLOCK_TICKS;
	} catch {
		return NaN;
	}
}
const CLOCK_TICKS = 100;
