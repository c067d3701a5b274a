import { describe, expect, it } from 'vitest';
import { ACCOUNT_MAX_PER_HOUR, BACKOFF_BASE_MS, FREE_FAILURES, HOUR_MS, waitFor } from './throttle';

const now = new Date('2026-11-23T10:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

describe('login throttling', () => {
	it('lets the first few failed attempts through without waiting', () => {
		const failures = Array.from({ length: FREE_FAILURES - 1 }, (_, i) => ago(i * 1000));
		expect(waitFor({ failures, now, kind: 'account' })).toBe(0);
	});

	it('makes the caller wait after the free failures, doubling each time', () => {
		const five = Array.from({ length: FREE_FAILURES }, () => ago(0));
		expect(waitFor({ failures: five, now, kind: 'account' })).toBe(BACKOFF_BASE_MS);
		const seven = Array.from({ length: FREE_FAILURES + 2 }, () => ago(0));
		expect(waitFor({ failures: seven, now, kind: 'account' })).toBe(4 * BACKOFF_BASE_MS);
	});

	it('allows an attempt once the back-off has passed', () => {
		const five = Array.from({ length: FREE_FAILURES }, () => ago(BACKOFF_BASE_MS + 500));
		expect(waitFor({ failures: five, now, kind: 'account' })).toBe(0);
	});

	it('refuses the account for the rest of the hour after the hourly maximum of failures', () => {
		const failures = Array.from({ length: ACCOUNT_MAX_PER_HOUR }, (_, i) => ago(i * 30_000));
		const wait = waitFor({ failures, now, kind: 'account' });
		const oldest = failures[ACCOUNT_MAX_PER_HOUR - 1]!;
		expect(wait).toBe(oldest.getTime() + HOUR_MS - now.getTime());
		expect(wait).toBeGreaterThan(0);
	});

	it('does not back off per address, only caps it', () => {
		const failures = Array.from({ length: 50 }, () => ago(0));
		expect(waitFor({ failures, now, kind: 'address' })).toBe(0);
	});
});
