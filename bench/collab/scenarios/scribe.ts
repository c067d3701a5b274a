/**
 * The scribe types, everyone watches: one writer sends 10 updates a second into the notes; N readers
 * (N = 10 … 1,000) receive them. Measured: delivery latency per (update, reader), p50/p99.
 */
import { measureDelivery } from '../harness/delivery';
import { cellMedian } from '../harness/report';
import type { Point } from '../types';
import type { Scenario } from './index';

const NAME = 'scribe';
export const RAW_LATENCY_GOAL = { factor: 1.25, rawBelowMs: 50 };
/**
 * Not counted at the start of the long points (N ≤ 100): the collections that follow the join itself.
 * GC traces of every target (stop 15) showed the heap settling after N clients joined, in scavenges of
 * 2–8 ms and a full collection of 4–13 ms within about 7 s of the join, then scavenges of 0.5–1.5 ms
 * every few seconds. Counted, those few pauses were the p99 of a 200-update point (each one delays
 * an update for all N readers, 0.5% of the samples): the point measured the join's aftermath, which the
 * join-storm scenario measures, instead of the room. The same for every target.
 */
export const SETTLE_MS = 8000;

export const scribe: Scenario = {
	name: NAME,
	title: 'The scribe types, everyone watches',
	description:
		'One writer, 10 updates/s (a Yjs insert into the notes carrying a timestamp), N readers in the same room; latency from send to each reader receiving it. Two full clients (real Y.Doc) in the room check convergence.',
	quick:
		'N = 10 and 1,000 readers (full: also 100 and 500); 1.5 s points (full: 20 s at N ≤ 100, 200 updates, so the p99 is a percentile and not the worst update or two, counted from 8 s after the join so that it times the formed room and not the collections after the join; 4 s above).',
	async run(target, ctx) {
		const sizes = ctx.quick ? [10, 1000] : [10, 100, 500, 1000];
		const points: Point[] = [];
		for (const n of sizes) {
			// Client 0 is the writer; the other n are the readers.
			const r = await measureDelivery(target, ctx, {
				clients: n + 1,
				senders: 1,
				hz: 10,
				kind: 'update',
				// At 10 updates/s a 4 s point has 40 updates: with few readers its p99 is its worst update or
				// two. 20 s (200 updates) where N ≤ 100 makes the p99 a percentile; larger rooms have many
				// deliveries per update spread over the fan-out, and keep 4 s. Those long points measure the
				// room once formed: the first 8 s after the join are not counted (SETTLE_MS).
				durationMs: ctx.quick ? 1500 : n <= 100 ? SETTLE_MS + 20_000 : 4000,
				warmupMs: ctx.quick || n > 100 ? 300 : SETTLE_MS,
				convergence: true
			});
			const notes: string[] = [];
			if (r.delivered < 0.999) notes.push(`N = ${n}: only ${(r.delivered * 100).toFixed(1)}% delivered`);
			if (r.convergence && !r.convergence.ok) notes.push(`N = ${n}: ${r.convergence.detail}`);
			const base = {
				scenario: NAME,
				row: `N = ${n} readers`,
				target: target.name,
				better: 'lower' as const,
				discarded: r.lagged,
				note: notes.join('; ') || undefined
			};
			points.push({ ...base, measure: 'p50 ms', value: r.p50 }, { ...base, measure: 'p99 ms', value: r.p99 });
		}
		return points;
	},
	goals(t) {
		return latencyGoals(t, 'p99 ms');
	}
};

/** "p99 ≤ 1.25 × raw while raw is under 50 ms", per row. */
export function latencyGoals(t: Parameters<NonNullable<Scenario['goals']>>[0], measure: string): string[] {
	const out: string[] = [];
	for (const r of t.rows) {
		if (r.measure !== measure) continue;
		const raw = cellMedian(t, r.row, measure, 'raw');
		const ours = cellMedian(t, r.row, measure, 'ours');
		if (!Number.isFinite(raw) || !Number.isFinite(ours) || raw >= RAW_LATENCY_GOAL.rawBelowMs) continue;
		const ok = ours <= RAW_LATENCY_GOAL.factor * raw;
		out.push(
			`${r.row}: D ${measure} ${ours.toFixed(1)} vs ${RAW_LATENCY_GOAL.factor} × A = ${(RAW_LATENCY_GOAL.factor * raw).toFixed(1)} — ${ok ? 'met' : 'missed'}`
		);
	}
	return out;
}
