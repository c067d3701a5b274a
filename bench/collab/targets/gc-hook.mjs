/**
 * Preloaded into every target server (`node --expose-gc --import …/gc-hook.mjs …`): on SIGUSR2 it runs
 * two full garbage collections and prints one line, `bench-gc <n> {rss, heapUsed, external}`, so the
 * rooms scenario compares the memory with and without rooms open without the noise of garbage not yet
 * collected. It does nothing until signalled (Node uses SIGUSR1 for the inspector, nothing uses SIGUSR2).
 */
let seq = 0;
process.on('SIGUSR2', () => {
	const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);
	gc?.();
	gc?.();
	const m = process.memoryUsage();
	const line = JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, collected: gc !== undefined });
	process.stdout.write(`\nbench-gc ${++seq} ${line}\n`);
});
