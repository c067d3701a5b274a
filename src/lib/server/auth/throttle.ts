/**
 * Login throttling, per account and per source address, kept in the database so it survives a
 * restart and holds across processes. Pure decision + thin storage.
 *
 * Account: the first FREE_FAILURES failures are free; after that each attempt must wait
 * BACKOFF_BASE_MS × 2^(n - FREE_FAILURES) after the last failure (capped), and at most ACCOUNT_MAX_PER_HOUR
 * failures count in any hour. Address: at most ADDRESS_MAX_PER_HOUR failures an hour (ops centres
 * sit behind NAT, so this is looser).
 */
export const HOUR_MS = 3_600_000;
export const FREE_FAILURES = 5;
export const BACKOFF_BASE_MS = 5_000;
export const MAX_BACKOFF_MS = 15 * 60_000;
export const ACCOUNT_MAX_PER_HOUR = 100;
export const ADDRESS_MAX_PER_HOUR = 500;

/** Returns how long (ms) the caller must still wait, or 0 when an attempt is allowed. */
export function waitFor(opts: { failures: Date[]; now: Date; kind: 'account' | 'address' }): number {
	const { failures, now } = opts; // newest first, all within the last hour
	const max = opts.kind === 'account' ? ACCOUNT_MAX_PER_HOUR : ADDRESS_MAX_PER_HOUR;
	if (failures.length >= max) {
		const oldestCounted = failures[max - 1]!;
		return Math.max(0, oldestCounted.getTime() + HOUR_MS - now.getTime());
	}
	if (opts.kind === 'account' && failures.length >= FREE_FAILURES) {
		const backoff = Math.min(MAX_BACKOFF_MS, BACKOFF_BASE_MS * 2 ** (failures.length - FREE_FAILURES));
		return Math.max(0, failures[0]!.getTime() + backoff - now.getTime());
	}
	return 0;
}
