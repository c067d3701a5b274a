import { describe, expect, it } from 'vitest';
import { actionItemCounts, dayIn, isOverdue, periodRange, previousPeriod, responseStages, satisfaction } from './review-metrics';
import { formatDuration, toMarkdown } from './review-document';

const at = (s: string) => new Date(s);
const MIN = 60_000;

describe('responseStages', () => {
	it('measures each stage and the totals from detection against the priority targets', () => {
		const stages = responseStages(
			{
				detectedAt: at('2026-10-14T01:50:00Z'),
				declaredAt: at('2026-10-14T02:00:00Z'),
				firstAckAt: at('2026-10-14T02:05:00Z'),
				mitigatedAt: at('2026-10-14T03:00:00Z'),
				resolvedAt: at('2026-10-14T04:00:00Z')
			},
			'P1'
		);
		const by = Object.fromEntries(stages.map((s) => [s.key, s]));
		expect(by.detect_to_declare).toMatchObject({ ms: 10 * MIN, verdict: 'no_target' });
		expect(by.time_to_acknowledge).toMatchObject({ ms: 15 * MIN, targetMs: 15 * MIN, verdict: 'met' });
		expect(by.time_to_mitigate).toMatchObject({ ms: 70 * MIN, verdict: 'breached' });
		expect(by.time_to_resolve).toMatchObject({ ms: 130 * MIN, verdict: 'met' });
	});

	it('calls a stage without its end unmeasured, never met, and ignores an end before its start', () => {
		const stages = responseStages({ detectedAt: at('2026-10-14T02:00:00Z'), firstAckAt: at('2026-10-14T01:00:00Z') }, 'P2');
		expect(stages.find((s) => s.key === 'time_to_acknowledge')).toMatchObject({ ms: null, verdict: 'unmeasured' });
		expect(stages.find((s) => s.key === 'time_to_resolve')?.verdict).toBe('unmeasured');
	});
});

describe('satisfaction', () => {
	it('averages answered scores only and counts each score', () => {
		expect(satisfaction([{ score: 5 }, { score: 3 }, { score: null }, { score: 4 }])).toEqual({
			sent: 4,
			answered: 3,
			meanScore: 4,
			distribution: [0, 0, 1, 1, 1]
		});
		expect(satisfaction([]).meanScore).toBeNull();
	});
});

describe('periods in the organisation time zone', () => {
	it('covers a month from local midnight to local midnight (Shanghai is UTC+8)', () => {
		const r = periodRange('2026-10', 'Asia/Shanghai');
		expect(r.start.toISOString()).toBe('2026-09-30T16:00:00.000Z');
		expect(r.end.toISOString()).toBe('2026-10-31T16:00:00.000Z');
		expect(r.lastDay).toBe('2026-10-31');
		expect(periodRange('2026-02', 'UTC').lastDay).toBe('2026-02-28');
		expect(periodRange('2026-12', 'UTC').end.toISOString()).toBe('2027-01-01T00:00:00.000Z');
	});

	it('handles daylight saving in the zone', () => {
		const r = periodRange('2026-03', 'Europe/Berlin');
		expect(r.start.toISOString()).toBe('2026-02-28T23:00:00.000Z');
		expect(r.end.toISOString()).toBe('2026-03-31T22:00:00.000Z');
	});

	it('rejects a malformed period and finds the previous month across a year boundary', () => {
		expect(() => periodRange('2026-13', 'UTC')).toThrow(RangeError);
		expect(previousPeriod(at('2026-01-01T00:30:00+08:00'), 'Asia/Shanghai')).toBe('2025-12');
		// 23:30 UTC on 31 Oct is already 1 Nov in Shanghai.
		expect(previousPeriod(at('2026-10-31T23:30:00Z'), 'Asia/Shanghai')).toBe('2026-10');
		expect(dayIn(at('2026-10-31T23:30:00Z'), 'Asia/Shanghai')).toBe('2026-11-01');
	});
});

describe('action items', () => {
	it('is overdue only while open and after its due day', () => {
		expect(isOverdue({ status: 'open', dueDate: '2026-10-01' }, '2026-10-02')).toBe(true);
		expect(isOverdue({ status: 'open', dueDate: '2026-10-02' }, '2026-10-02')).toBe(false);
		expect(isOverdue({ status: 'done', dueDate: '2026-10-01' }, '2026-10-02')).toBe(false);
		expect(isOverdue({ status: 'in_progress', dueDate: null }, '2026-10-02')).toBe(false);
	});

	it('counts opened, closed and overdue-at-month-end', () => {
		const period = periodRange('2026-10', 'UTC');
		const counts = actionItemCounts(
			[
				{ createdAt: at('2026-10-03T00:00:00Z'), closedAt: null, dueDate: '2026-10-20' },
				{ createdAt: at('2026-09-03T00:00:00Z'), closedAt: at('2026-10-05T00:00:00Z'), dueDate: '2026-09-30' },
				{ createdAt: at('2026-10-10T00:00:00Z'), closedAt: at('2026-11-02T00:00:00Z'), dueDate: '2026-10-31' },
				{ createdAt: at('2026-10-11T00:00:00Z'), closedAt: null, dueDate: '2026-11-15' }
			],
			period
		);
		expect(counts).toEqual({ opened: 3, closed: 1, overdue: 2 });
	});
});

describe('the export document', () => {
	it('renders Markdown without letting text turn into structure', () => {
		const md = toMarkdown([
			{ kind: 'title', text: '故障分析报告 INC-1' },
			{ kind: 'paragraph', text: '# not a heading\n- not a list' },
			{ kind: 'table', head: ['a', 'b'], rows: [['x|y', 'line1\nline2']] }
		]);
		expect(md).toContain('# 故障分析报告 INC-1');
		expect(md).toContain('\\# not a heading  \n\\- not a list');
		expect(md).toContain('| x\\|y | line1<br>line2 |');
	});

	it('formats durations for people', () => {
		expect(formatDuration(null)).toBe('—');
		expect(formatDuration(30_000)).toBe('30 s');
		expect(formatDuration(45 * MIN)).toBe('45 min');
		expect(formatDuration(125 * MIN)).toBe('2 h 05 min');
		expect(formatDuration(26 * 60 * MIN)).toBe('1 d 2 h');
	});
});
