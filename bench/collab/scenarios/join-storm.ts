/**
 * Join storm: N clients open a socket to one room at the same moment and sync (sync step 1 → step 2;
 * ours also authenticates each upgrade and loads the room from PostgreSQL). Measured: the time until
 * the last one is synced, and each client's own connect-to-synced time (p50/p99).
 */
import { closeAll, openClients, LoadClient } from '../harness/client';
import { LagGuard } from '../harness/lag';
import { sleep, summarise } from '../harness/load';
import { percentile } from '../harness/stats';
import type { Point, RunningTarget } from '../types';
import type { Scenario } from './index';
import { latencyGoals } from './scribe';

const NAME = 'join-storm';
/** Clients in the first storm each target process serves (its own row). */
const FIRST = 20;
/**
 * Untimed storms each target serves after its first, before the other rows: a process that has served
 * before has compiled its join path, as a server that has run for a while has. Served just once before
 * the rows, ours compiled its path during them (49 first optimisations during the fourth storm, N = 1,000,
 * and its V8 worker threads used 15-35 ms of the server's CPU in an N = 100 storm against the raw
 * relay's 2 ms). They are spaced like the rows: served 1 s apart, ours' found the sessions the storm
 * before had validated still kept, so its session lookup (the query, the driver, the rows) ran a few
 * times in all and was still being compiled in the first row after them (stop 22: N = 100 cost 0.57
 * ms of server CPU per client against N = 500's 0.22). Two were still too few (stop 23, ours with
 * --trace-opt, TurboFan's time per storm): 68 ms of compiling (28 functions: ws's handleUpgrade alone
 * 13 ms, the origin check's inlined URL parser 9 ms) in the N = 100 row and 19 and 23 ms in the next
 * two, on the server's one core; with six, the storms before the rows took 300, 69, 19, 23 and 7 ms
 * and the rows 5, 0 and 12. Every target gets the same six.
 */
const WARM_STORMS = { full: [1000, 1000, 1000, 1000, 1000, 1000], quick: [1000] };
/** Between two rows, at least; longer where the target keeps what upgrades looked up (`upgradeCacheMs`). */
const GAP_MS = { full: 1000, quick: 300 };
/** Past `upgradeCacheMs`, so the cached entries have surely expired. */
const CACHE_MARGIN_MS = 500;

/** `n` clients join `room` at once and sync (the room is made before, outside any timed window). */
function storm(target: RunningTarget, room: string, n: number) {
	return openClients(n, (i) => new LoadClient({ target, room, index: i }), 60_000);
}

export const joinStorm: Scenario = {
	name: NAME,
	title: 'Join storm',
	description:
		'N clients connect to one fresh room at once (a point is discarded only if the generator\'s event-loop delay p99 exceeds a quarter of the client p99, since its own handshakes block it in bursts); "all synced" is from the first connect to the last sync step 2, p50/p99 are per client (connect → synced). Sync only (no awareness; that is the awareness storm). Each target process\'s first storm is a row of its own (N = 20): it also pays for compiling the code paths, which ours has far more of. Then each serves untimed storms (full: 6 × 1,000 clients, after which V8 in ours compiled almost nothing more; quick: 1 × 1,000), spaced as the rows are, and the other rows are storms on a fresh room in a process that has served before, as a server that has run for a while has. Each of those rows starts after whatever the target kept of the previous storm\'s upgrades has expired (ours keeps validated sessions and room rules a few seconds, SESSION_CACHE_MS and ACCESS_CACHE_MS, and its rows start half a second after that; the others cache nothing, and their rows start 1 s apart), so ours looks every session up afresh, as after a network blip. Ours authenticates every upgrade (session cookie, Origin, access) and loads the room from PostgreSQL; the raw relay answers sync step 1 with a constant. "Server CPU ms per client" is the CPU time the server side ran from the first connect to the last sync (every thread of the target\'s process, and for ours also its PostgreSQL server, pinned to the same CPU), divided by N: the work each join costs, which a storm of N pays N times over on one core.',
	quick:
		"N = 20 (the first), 100 and 1,000 (full: also 500); one untimed storm of 1,000 before the rows after the first (full: six); storms 0.3 s apart, so ours' rows after the first find the sessions the storm before validated still kept (full: 1 s apart, and ours' rows start only once what it kept has expired).",
	async run(target, ctx) {
		// The first storm a process serves pays for compiling its code paths (ours has far more of them:
		// sessions, access, the database driver, the room's load), so it is its own small row. Then the
		// process serves untimed storms, and the rows after them are storms on a fresh room in a process
		// that has served before, each with nothing of the previous storm's upgrades cached.
		const sizes = [FIRST, ...(ctx.quick ? [100, 1000] : [100, 500, 1000])];
		const pause = ctx.quick ? GAP_MS.quick : GAP_MS.full;
		// Quick does not wait for ours' caches to expire (11 s of its 3 minutes): its rows after the first
		// find the sessions the storm before validated, as the full run's did before stop 21.
		const gap = ctx.quick ? pause : Math.max(pause, target.upgradeCacheMs + CACHE_MARGIN_MS);
		const points: Point[] = [];
		for (const [k, n] of sizes.entries()) {
			const label = k === 0 ? `N = ${n}, the process's first storm` : `N = ${n}`;
			if (k === 1) {
				const warm = ctx.quick ? WARM_STORMS.quick : WARM_STORMS.full;
				let lost = 0;
				for (const w of warm) {
					// Apart like the rows (full: past ours' caches), so the warm-up also serves uncached upgrades.
					await sleep(gap);
					const [room] = await target.rooms(1);
					const { clients, failed } = await storm(target, room!, w);
					lost += failed.length;
					closeAll(clients);
				}
				ctx.check('untimed warm-up storms: every client synced', lost === 0, `${warm.join(' + ')} clients, ${lost} did not sync`);
				ctx.log(`warm-up: ${warm.join(' + ')} clients served untimed; the rows after it start ${gap} ms apart`);
			}
			if (k > 0) await sleep(gap);
			const [room] = await target.rooms(1);
			const cpu0 = await target.cpu();
			const lag = new LagGuard();
			lag.start();
			const t0 = performance.now();
			const { clients, failed } = await storm(target, room!, n);
			const cpu1 = await target.cpu();
			const cpu = { main: cpu1.main - cpu0.main, threads: cpu1.threads - cpu0.threads, database: cpu1.database - cpu0.database };
			const serverCpuMs = cpu.main + cpu.threads + cpu.database;
			const synced = clients.filter((c) => Number.isFinite(c.syncedAt));
			const per = Float64Array.from(synced, (c) => c.syncedAt - c.startedAt).sort();
			const all = failed.length ? NaN : Math.max(...synced.map((c) => c.syncedAt)) - t0;
			const l = lag.stop(percentile(per, 99));
			const note = failed.length ? `${label}: ${failed.length} clients did not sync (${summarise(failed)})` : undefined;
			ctx.check(`${label}: every client synced`, failed.length === 0, note ?? `${n} synced`);
			const base = { scenario: NAME, row: label, target: target.name, better: 'lower' as const, discarded: l.lagged, note };
			points.push(
				{ ...base, measure: 'all synced ms', value: all },
				{ ...base, measure: 'p50 ms', value: percentile(per, 50) },
				{ ...base, measure: 'p99 ms', value: percentile(per, 99) },
				{ ...base, measure: 'server CPU ms per client', value: serverCpuMs / n }
			);
			ctx.log(
				`${label}: all ${all.toFixed(0)} ms, p50 ${percentile(per, 50).toFixed(1)}, p99 ${percentile(per, 99).toFixed(1)}, server CPU ${(serverCpuMs / n).toFixed(2)} ms/client (main thread ${(cpu.main / n).toFixed(2)}, other threads ${(cpu.threads / n).toFixed(2)}, database ${(cpu.database / n).toFixed(2)}), lag p99 ${l.p99Ms.toFixed(1)}${note ? ' — ' + note : ''}`
			);
			closeAll(clients);
		}
		await sleep(pause);
		return points;
	},
	// The "p99 ≤ 1.25 × raw while raw is under 50 ms" holds for every latency point, the join's too.
	goals(t) {
		return latencyGoals(t, 'p99 ms');
	}
};
