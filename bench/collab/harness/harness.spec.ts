/**
 * The harness's own arithmetic and verdicts (issue 9): percentiles, the timestamp marker readers find
 * without decoding, the aggregation over repetitions (discarded points counted and never used, lower
 * bounds kept as such), the ratio columns and the goal lines. A wrong figure here would be wrong in
 * every results file, whatever the targets did.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { rooms } from '../scenarios/rooms';
import { latencyGoals } from '../scenarios/scribe';
import type { Point, TargetName } from '../types';
import { LagGuard } from './lag';
import { sleep } from './load';
import { MARKER_LENGTH, marker, scanMarkers } from './marker';
import { aggregate, atLeastVerdict, renderTable, type Aggregate, type Cell } from './report';
import { median, percentile, percentileOf, Samples } from './stats';

const point = (target: TargetName, value: number, extra: Partial<Point> = {}): Point => ({
	scenario: 's',
	row: 'N = 100',
	measure: 'p99 ms',
	target,
	value,
	better: 'lower',
	...extra
});

/** The rendered table's line for the row "N = 100", the one `point` makes by default. */
const tableRow = (a: Aggregate) =>
	renderTable(a, 'T')
		.split('\n')
		.find((l) => l.startsWith('| N = 100'))!;

describe('percentiles', () => {
	it('takes the nearest rank of an ascending array', () => {
		const oneToHundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);
		expect(percentile(oneToHundred, 99)).toBe(99);
		expect(percentile(oneToHundred, 50)).toBe(50);
		expect(percentile(oneToHundred, 100)).toBe(100);
		expect(percentile(oneToHundred, 0)).toBe(1);
		expect(percentile([1, 2, 3, 4], 50)).toBe(2);
		expect(percentile([7], 99)).toBe(7);
		expect(percentile([], 99)).toBeNaN();
	});

	it('sorts unsorted values numerically, not as strings', () => {
		expect(percentileOf([10, 9, 100, 1], 50)).toBe(9);
		expect(percentileOf([10, 9, 100, 1], 99)).toBe(100);
	});

	it('keeps every sample past its first buffer and sorts them numerically', () => {
		const s = new Samples();
		for (let i = 10_000; i > 0; i--) s.push(i / 10);
		const sorted = s.sorted();
		expect(sorted.length).toBe(10_000);
		expect(sorted[0]).toBe(0.1);
		expect(sorted[9_999]).toBe(1000);
		expect(percentile(sorted, 99)).toBe(990);
	});

	it('medians: middle value, mean of the two middle ones, NaN when empty', () => {
		expect(median([3, 1, 2])).toBe(2);
		expect(median([4, 1, 3, 2])).toBe(2.5);
		expect(median([])).toBeNaN();
	});
});

describe('the timestamp marker', () => {
	it('is found in a real Yjs update without decoding it, with its send time and sender', () => {
		const doc = new Y.Doc();
		const updates: Uint8Array[] = [];
		doc.on('update', (u: Uint8Array) => updates.push(u));
		const sentAt = 123_456.789;
		doc.getText('notes').insert(0, `typing ${marker(42, sentAt)} more`);
		doc.getText('notes').insert(0, marker(0xffff, sentAt + 5));
		const found: [number, number][] = [];
		const n = scanMarkers(Buffer.concat(updates.map((u) => Buffer.from(u))), 0, (at, sender) => found.push([at, sender]));
		expect(n).toBe(2);
		// Microsecond precision: the clock is printed in whole µs.
		expect(found[0]![0]).toBeCloseTo(sentAt, 3);
		expect(found[0]![1]).toBe(42);
		expect(found[1]![0]).toBeCloseTo(sentAt + 5, 3);
		expect(found[1]![1]).toBe(0xffff);
	});

	it('does not count a marker cut off at the end of the buffer, nor one before `from`', () => {
		const m = marker(7, 1_000);
		expect(m.length).toBe(MARKER_LENGTH);
		const whole = Buffer.from(`${m}xx${m}`, 'latin1');
		const seen: number[] = [];
		expect(scanMarkers(whole.subarray(0, whole.length - 1), 0, (_, s) => seen.push(s))).toBe(1);
		expect(scanMarkers(whole, 1, (_, s) => seen.push(s))).toBe(1);
		expect(scanMarkers(Buffer.from('no marker here'), 0, () => seen.push(-1))).toBe(0);
		expect(seen).toEqual([7, 7]);
	});
});

describe('aggregation over repetitions', () => {
	it('counts discarded and non-finite points without using them, and keeps lower bounds as such', () => {
		const [a] = aggregate([
			point('ours', 30),
			point('ours', 10),
			point('ours', 20),
			point('ours', 1_000, { discarded: true }),
			point('ours', NaN),
			point('raw', 8, { atLeast: true }),
			point('raw', 12)
		]);
		const ours = a!.rows[0]!.cells.ours!;
		expect(ours.values).toEqual([30, 10, 20]);
		expect(ours.discarded).toBe(2);
		expect([ours.median, ours.min, ours.max]).toEqual([20, 10, 30]);
		const raw = a!.rows[0]!.cells.raw!;
		expect(raw.atLeast).toBe(1);
		expect(raw.median).toBe(10);
	});

	it('renders medians with min–max, lower bounds and discards, and ratios of medians', () => {
		const [a] = aggregate([
			point('raw', 10),
			point('raw', 12),
			point('raw', 14),
			point('stock', 20),
			point('stock', 20),
			point('stock', 99, { discarded: true }),
			point('ours', 25),
			point('ours', 24),
			point('ours', 30)
		]);
		const row = tableRow(a!);
		expect(row).toContain('**12.0** (10.0–14.0)');
		expect(row).toContain('**20.0** (20.0–20.0) ‡1');
		expect(row).toContain('**25.0** (24.0–30.0)');
		// D ÷ A = 25 / 12, D ÷ B = 25 / 20; no Hocuspocus, so no C ÷ B.
		expect(row).toMatch(/\| 2\.08× \| 1\.25× \| — \|$/);
	});

	it('bounds a ratio only on the side a lower bound allows', () => {
		const ratios = (ours: Partial<Point>, stock: Partial<Point>) => {
			const [a] = aggregate([point('ours', 300, ours), point('stock', 100, stock)]);
			// The cells of the row; the second last is D ÷ B.
			return tableRow(a!)
				.split('|')
				.map((c) => c.trim())
				.filter(Boolean)
				.slice(-2, -1)[0];
		};
		expect(ratios({}, {})).toBe('3.00×');
		expect(ratios({ atLeast: true }, {})).toBe('≥ 3.00×');
		expect(ratios({}, { atLeast: true })).toBe('≤ 3.00×');
		expect(ratios({ atLeast: true }, { atLeast: true })).toBe('—');
	});
});

describe('goal verdicts', () => {
	const cell = (median: number, atLeast = 0): Cell => ({ values: [median], discarded: 0, atLeast, median, min: median, max: median });

	it('decides "D ≥ k × reference" only when the deciding side is exact', () => {
		expect(atLeastVerdict(true, cell(300), cell(100), 'B')).toBe('met');
		expect(atLeastVerdict(false, cell(100), cell(100), 'B')).toBe('missed');
		expect(atLeastVerdict(true, cell(300), cell(100, 1), 'B')).toMatch(/^not decided: B's figure is a lower bound/);
		expect(atLeastVerdict(false, cell(100, 1), cell(300), 'B')).toMatch(/^not decided: D's figure is a lower bound/);
		// Ours a lower bound that already meets an exact reference: met.
		expect(atLeastVerdict(true, cell(300, 1), cell(100), 'B')).toBe('met');
	});

	it('checks p99 ≤ 1.25 × raw only while raw is under 50 ms', () => {
		const table: Aggregate = aggregate([
			point('raw', 20, { row: 'N = 10' }),
			point('ours', 25, { row: 'N = 10' }),
			point('raw', 20, { row: 'N = 20' }),
			point('ours', 25.1, { row: 'N = 20' }),
			point('raw', 60, { row: 'N = 1000' }),
			point('ours', 200, { row: 'N = 1000' }),
			point('ours', 5, { row: 'N = 5' })
		])[0]!;
		expect(latencyGoals(table, 'p99 ms')).toEqual([
			'N = 10: D p99 ms 25.0 vs 1.25 × A = 25.0 — met',
			'N = 20: D p99 ms 25.1 vs 1.25 × A = 25.0 — missed'
		]);
	});

	it('judges memory per room in KB and the unload against 60 s, a watch that ended first as missed', () => {
		const p = (measure: string, value: number, extra: Partial<Point> = {}) =>
			point('ours', value, { scenario: 'rooms', row: 'R = 1000', measure, ...extra });
		const table = aggregate([
			p('KiB/room (RSS)', 48.8), // 49.97 KB
			p('KiB/room (heap + external)', 48.9), // 50.07 KB
			p('s until no room loaded', 32.2),
			p('s until no room loaded', 75, { row: 'R = 200', atLeast: true })
		])[0]!;
		expect(rooms.goals!(table)).toEqual([
			'R = 1000: D 50.0 KB per idle room (RSS, after GC) vs ≤ 50 KB — met',
			'R = 1000: D 50.1 KB per idle room (heap + external, after GC) vs ≤ 50 KB — missed',
			'R = 1000: D no room loaded after 32.2 s vs ≤ 60 s after the last client left — met',
			'R = 200: D no room loaded after more than 75.0 s vs ≤ 60 s after the last client left — missed'
		]);
	});
});

describe('the generator lag guard', () => {
	/** A guarded stretch in which the event loop is blocked for `ms` between two short sleeps. */
	const stalled = async (guard: LagGuard, ms: number) => {
		guard.start();
		await sleep(30);
		const until = performance.now() + ms;
		while (performance.now() < until) {
			// the generator stuck in its own work
		}
		await sleep(30);
	};

	it('flags a point during which the event loop was blocked, and not an idle one', async () => {
		const idle = new LagGuard();
		idle.start();
		await sleep(150);
		expect(idle.stop().lagged).toBe(false);

		const blocked = new LagGuard();
		await stalled(blocked, 120);
		const verdict = blocked.stop();
		expect(verdict.maxMs).toBeGreaterThan(100);
		expect(verdict.lagged).toBe(true);
		// Judged against a bursty phase's own figure: a 120 ms stall is no lag for a 1 s p99.
		await stalled(blocked, 120);
		expect(blocked.stop(1_000).lagged).toBe(false);
	});
});
