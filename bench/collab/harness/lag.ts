/**
 * The generator's own health: event-loop delay measured during a point. If the generator lagged, the
 * latencies it measured include its own delay, so the point is discarded (reported, not used).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** A point is discarded when the generator's event-loop delay p99 exceeds this. */
export const LAG_P99_BOUND_MS = 20;

export class LagGuard {
	private readonly h: IntervalHistogram = monitorEventLoopDelay({ resolution: 5 });
	start(): void {
		this.h.reset();
		this.h.enable();
	}
	/**
	 * Stops and reports; `lagged` is whether the bound was exceeded. `relativeTo`: a bursty phase (a join
	 * storm, where the generator's own handshakes block it briefly) is judged against the measured
	 * figure instead — lagged if the delay p99 exceeds both the bound and a quarter of that figure.
	 */
	stop(relativeTo?: number): { p99Ms: number; maxMs: number; lagged: boolean } {
		this.h.disable();
		// The histogram includes the sampling resolution itself; subtract it.
		const p99Ms = Math.max(0, this.h.percentile(99) / 1e6 - 5);
		const maxMs = Math.max(0, this.h.max / 1e6 - 5);
		const bound = relativeTo === undefined ? LAG_P99_BOUND_MS : Math.max(LAG_P99_BOUND_MS, relativeTo / 4);
		return { p99Ms, maxMs, lagged: p99Ms > bound };
	}
}
