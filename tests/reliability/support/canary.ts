/**
 * A canary writer in a worker thread (canary-worker.mjs): one timeline entry and one round trip every
 * `intervalMs` until stopped. Its round trips are timed in its own event loop, so they measure the
 * server and not stalls of the test's own loop (which builds and masks the attackers' frames).
 */
import { Worker } from 'node:worker_threads';

export interface CanaryResult {
	/** [sent, answered] of every round trip, in `performance.timeOrigin + performance.now()` ms. */
	trips: [number, number][];
	writes: number;
	acked: number;
	open: boolean;
}

export interface Canary {
	/** Stops writing, waits for the acks (up to 5 s) and returns what it measured. */
	stop(): Promise<CanaryResult>;
	/** Resolves once connected and through a first round trip. */
	ready: Promise<void>;
	/** The worker failed (connect refused, a round trip timed out): rejects with its message. */
	failed: Promise<never>;
}

export function startCanary(opts: {
	port: number;
	room: string;
	cookie: string;
	origin: string;
	intervalMs?: number;
	maxWrites?: number;
	deadline: number;
	barrierTimeoutMs?: number;
}): Canary {
	const worker = new Worker(new URL('./canary-worker.mjs', import.meta.url), {
		workerData: { intervalMs: 50, maxWrites: 100_000, barrierTimeoutMs: 5000, ...opts }
	});
	let onReady: () => void = () => undefined;
	const ready = new Promise<void>((r) => (onReady = r));
	const outcome = new Promise<CanaryResult>((resolve, reject) => {
		worker.on('message', (m: { ready?: true; result?: CanaryResult; error?: string }) => {
			if (m.ready) onReady();
			else if (m.result) resolve(m.result);
			else reject(new Error(m.error));
		});
		worker.once('error', reject);
		worker.once('exit', (code) => reject(new Error(`the canary worker exited (${code}) without a result`)));
	});
	const done = outcome.finally(() => void worker.terminate());
	return {
		ready: Promise.race([ready, done.then(() => undefined)]),
		failed: done.then(() => new Promise<never>(() => undefined)),
		async stop() {
			worker.postMessage('stop');
			return done;
		}
	};
}

/** Round-trip times in ms. */
export function tripMs(trips: [number, number][]): number[] {
	return trips.map(([a, b]) => b - a);
}
