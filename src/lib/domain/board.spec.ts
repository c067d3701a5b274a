import { describe, expect, it } from 'vitest';
import { parseHistoryWindow, updateCountdown, weeklyTrend, WEEK_MS } from './board';

const now = new Date('2026-11-20T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const MIN = 60_000;

describe('updateCountdown', () => {
	it('is none when no update is owed', () => {
		expect(updateCountdown({ dueAt: null, now, warningLeadMs: 5 * MIN })).toEqual({ state: 'none', msLeft: null });
	});
	it('is ok before the warning lead, warning within it, and overdue (negative) once past due', () => {
		expect(updateCountdown({ dueAt: new Date(now.getTime() + 10 * MIN), now, warningLeadMs: 5 * MIN }).state).toBe('ok');
		expect(updateCountdown({ dueAt: new Date(now.getTime() + 5 * MIN), now, warningLeadMs: 5 * MIN }).state).toBe('warning');
		expect(updateCountdown({ dueAt: now.toISOString(), now, warningLeadMs: 5 * MIN }).state).toBe('warning');
		expect(updateCountdown({ dueAt: ago(1000), now: now.getTime(), warningLeadMs: 5 * MIN })).toEqual({ state: 'overdue', msLeft: -1000 });
	});
	it('treats an unreadable date as no deadline', () => {
		expect(updateCountdown({ dueAt: 'not a date', now, warningLeadMs: 0 }).state).toBe('none');
	});
});

describe('weeklyTrend', () => {
	it('buckets by the week the response started, counted back from now, and leaves drills out', () => {
		const trend = weeklyTrend({
			since: ago(30 * 24 * 60 * MIN),
			now,
			incidents: [
				{
					drill: false,
					detectedAt: ago(2 * 24 * 60 * MIN),
					firstAckAt: ago(2 * 24 * 60 * MIN - 10 * MIN),
					resolvedAt: ago(2 * 24 * 60 * MIN - 70 * MIN)
				},
				{ drill: false, detectedAt: ago(3 * 24 * 60 * MIN), firstAckAt: ago(3 * 24 * 60 * MIN - 20 * MIN) },
				{ drill: true, detectedAt: ago(1 * 24 * 60 * MIN), firstAckAt: ago(1 * 24 * 60 * MIN - 90 * MIN) },
				{ drill: false, detectedAt: ago(10 * 24 * 60 * MIN), resolvedAt: ago(10 * 24 * 60 * MIN - 30 * MIN) },
				{ drill: false, detectedAt: ago(40 * 24 * 60 * MIN), firstAckAt: ago(40 * 24 * 60 * MIN - 1 * MIN) }
			]
		});
		expect(trend).toHaveLength(5);
		const last = trend.at(-1)!;
		expect(last.to).toEqual(now);
		expect(last.from).toEqual(new Date(now.getTime() - WEEK_MS));
		expect(last).toMatchObject({ count: 2, mttaMs: 15 * MIN, mttrMs: 70 * MIN });
		expect(trend.at(-2)).toMatchObject({ count: 1, mttaMs: null, mttrMs: 30 * MIN });
		expect(trend[0]!.from).toEqual(ago(30 * 24 * 60 * MIN));
		expect(trend.reduce((a, p) => a + p.count, 0)).toBe(3);
	});
	it('is empty for an empty window', () => {
		expect(weeklyTrend({ since: now, now, incidents: [] })).toEqual([]);
	});
});

describe('parseHistoryWindow', () => {
	it('accepts 30 and 90 (numbers or strings) and falls back to 30', () => {
		expect(parseHistoryWindow('90')).toBe(90);
		expect(parseHistoryWindow(30)).toBe(30);
		expect(parseHistoryWindow('7')).toBe(30);
		expect(parseHistoryWindow(undefined)).toBe(30);
	});
});
