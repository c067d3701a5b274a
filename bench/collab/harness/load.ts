/**
 * Building blocks the scenarios share: joining a room with many load clients, pacing senders at a fixed
 * rate with random phases, waiting (bounded) for deliveries to drain, and sleeping.
 */
import type { RunningTarget } from '../types';
import { LoadClient, openClients, type MarkerKind } from './client';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A Yjs / awareness client id: random, 31 bits, unique enough within a room. */
export const randomClientId = () => 1 + Math.floor(Math.random() * 0x7ffffffe);

export interface JoinResult {
	clients: LoadClient[];
	failed: string[];
}

/**
 * Opens `n` load clients on `room` (client indexes `offset…offset+n-1`, so ours spreads them over its
 * users) and waits until all are synced or `timeoutMs` passes. Throws if any failed: a point measured
 * with fewer clients than it claims would be wrong.
 */
export async function join(
	target: RunningTarget,
	room: string,
	n: number,
	opts: {
		offset?: number;
		timeoutMs?: number;
		onMarker?: (client: number, kind: MarkerKind, sentAtMs: number, sender: number, at: number) => void;
	} = {}
): Promise<LoadClient[]> {
	const offset = opts.offset ?? 0;
	const { clients, failed } = await openClients(
		n,
		(i) =>
			new LoadClient({
				target,
				room,
				index: offset + i,
				onMarker: opts.onMarker ? (kind, sent, sender, at) => opts.onMarker!(i, kind, sent, sender, at) : undefined
			}),
		opts.timeoutMs ?? 60_000
	);
	if (failed.length > 0) {
		for (const c of clients) c.close();
		throw new Error(`${failed.length} of ${n} clients did not sync (${summarise(failed)})`);
	}
	return clients;
}

export function summarise(reasons: string[]): string {
	const counts = new Map<string, number>();
	for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
	return [...counts].map(([r, c]) => `${c}× ${r}`).join(', ');
}

/**
 * Calls `send(i)` for each of `senders` senders `hz` times a second, each with a random phase, for
 * `durationMs`. Bounded by count (senders × hz × duration + senders) and by time. Returns the sends.
 */
export async function paced(senders: number, hz: number, durationMs: number, send: (i: number) => void): Promise<number> {
	const period = 1000 / hz;
	const start = performance.now();
	const end = start + durationMs;
	const next = Float64Array.from({ length: senders }, () => start + Math.random() * period);
	const maxSends = Math.ceil(senders * hz * (durationMs / 1000)) + senders;
	let sent = 0;
	await new Promise<void>((resolve) => {
		const timer = setInterval(() => {
			const now = performance.now();
			if (now >= end || sent >= maxSends) {
				clearInterval(timer);
				return resolve();
			}
			for (let i = 0; i < senders; i++) {
				// At most one catch-up send per tick: a late generator does not burst.
				if (next[i]! <= now) {
					send(i);
					sent++;
					next[i] = Math.max(next[i]! + period, now - period);
				}
			}
		}, 2);
	});
	return sent;
}

/** Polls `done()` every 20 ms until it holds or `timeoutMs` passes. */
export async function drain(done: () => boolean, timeoutMs: number): Promise<void> {
	const until = performance.now() + timeoutMs;
	while (!done() && performance.now() < until) await sleep(20);
}
