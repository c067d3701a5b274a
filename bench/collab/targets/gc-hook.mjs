/**
 * Preloaded into every target server (`node --expose-gc --import …/gc-hook.mjs …`): on SIGUSR2 it runs
 * full garbage collections, gives V8 a moment to hand freed pages back to the system (it unmaps them
 * on a background thread), and prints one line, `bench-gc <n> {rss, heapUsed, external}`, so the rooms
 * scenario compares the memory with and without rooms open without the noise of garbage not yet
 * collected. It does nothing until signalled (Node uses SIGUSR1 for the inspector, nothing uses SIGUSR2).
 */
let seq = 0;
process.on('SIGUSR2', () => {
	const n = ++seq;
	const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);
	gc?.();
	gc?.();
	setTimeout(() => {
		gc?.();
		const m = process.memoryUsage();
		const line = JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, collected: gc !== undefined });
		process.stdout.write(`\nbench-gc ${n} ${line}\n`);
	}, 300);
});
