import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS, RETRY_DELAYS_MS, nextAttemptAt, retryableStatus } from './backoff';

const now = new Date('2026-11-23T08:00:00Z');
const after = (ms: number) => new Date(now.getTime() + ms).toISOString();

describe('back-off', () => {
	it('waits 30 s, 2 min, 10 min, 30 min and 2 h after the first five failures', () => {
		expect(RETRY_DELAYS_MS).toEqual([30_000, 120_000, 600_000, 1_800_000, 7_200_000]);
		const waits = [1, 2, 3, 4, 5].map((attempts) => nextAttemptAt({ attempts, maxAttempts: MAX_ATTEMPTS, now })?.toISOString());
		expect(waits).toEqual([after(30_000), after(120_000), after(600_000), after(1_800_000), after(7_200_000)]);
	});

	it('gives up after the sixth attempt', () => {
		expect(MAX_ATTEMPTS).toBe(6);
		expect(nextAttemptAt({ attempts: 6, maxAttempts: MAX_ATTEMPTS, now })).toBeNull();
	});

	it('gives up at once when only one attempt is allowed (test messages)', () => {
		expect(nextAttemptAt({ attempts: 1, maxAttempts: 1, now })).toBeNull();
	});

	it('retries server errors, timeouts and rate limits but not other client errors', () => {
		expect([500, 502, 503, 408, 425, 429].map(retryableStatus)).toEqual([true, true, true, true, true, true]);
		expect([400, 401, 403, 404, 410, 413].map(retryableStatus)).toEqual([false, false, false, false, false, false]);
	});
});
