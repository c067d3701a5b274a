/**
 * Preloaded into every target server (`node --expose-gc --import …/gc-hook.mjs …`): on SIGUSR2 it runs
 * full garbage collections, gives V8 a moment to hand freed pages back to the system (it unmaps them
 * on a background thread), and prints one line, `bench-gc <n> {rss, heapUsed, external, young}`, so the
 * rooms scenario compares the memory with and without rooms open without the noise of garbage not yet
 * collected. `young` is the size V8 has committed to its young generation (new space): it grows in a
 * burst of allocations, up to 2 × 16 MiB, and stays grown after a forced collection, whatever the
 * server does, so the rooms scenario reports it beside the RSS. It does nothing until signalled (Node
 * uses SIGUSR1 for the inspector, nothing uses SIGUSR2).
 */
import v8 from 'node:v8';

let seq = 0;
process.on('SIGUSR2', () => {
	const n = ++seq;
	const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);
	gc?.();
	gc?.();
	setTimeout(() => {
		gc?.();
		const m = process.memoryUsage();
		const young = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0;
		const line = JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, young, collected: gc !== undefined });
		process.stdout.write(`\nbench-gc ${n} ${line}\n`);
	}, 300);
});
