import { describe, expect, it } from 'vitest';
import { setBounded } from './bounded-map';

describe('setBounded', () => {
	it('keeps at most max entries, dropping the oldest first, and moves a re-set key to the newest place', () => {
		const m = new Map<string, number>();
		for (const [i, k] of ['a', 'b', 'c'].entries()) setBounded(m, k, i, 3);
		expect([...m.keys()]).toEqual(['a', 'b', 'c']);
		setBounded(m, 'a', 10, 3); // re-set: now the newest, nothing dropped
		expect([...m.entries()]).toEqual([
			['b', 1],
			['c', 2],
			['a', 10]
		]);
		setBounded(m, 'd', 3, 3); // full: the oldest (b) goes
		expect([...m.keys()]).toEqual(['c', 'a', 'd']);
		expect(m.size).toBe(3);
	});
});
