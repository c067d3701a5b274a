import { describe, expect, it } from 'vitest';
import { instantToZoned, zonedToInstant } from './zoned-time';

describe('wall-clock times in a time zone', () => {
	it('reads a Shanghai wall-clock time as the right instant', () => {
		expect(zonedToInstant('2026-11-23T09:30', 'Asia/Shanghai')?.toISOString()).toBe('2026-11-23T01:30:00.000Z');
	});
	it('handles summer and winter time in Berlin', () => {
		expect(zonedToInstant('2026-07-01T12:00', 'Europe/Berlin')?.toISOString()).toBe('2026-07-01T10:00:00.000Z');
		expect(zonedToInstant('2026-12-01T12:00', 'Europe/Berlin')?.toISOString()).toBe('2026-12-01T11:00:00.000Z');
	});
	it('refuses anything that is not a wall-clock time', () => {
		expect(zonedToInstant('yesterday', 'Asia/Shanghai')).toBeUndefined();
		expect(zonedToInstant('2026-11-23T09:30Z', 'Asia/Shanghai')).toBeUndefined();
	});
	it('round-trips an instant through the wall clock', () => {
		const at = new Date('2026-03-29T00:59:00Z');
		expect(zonedToInstant(instantToZoned(at, 'Europe/Berlin'), 'Europe/Berlin')?.toISOString()).toBe(at.toISOString());
		expect(instantToZoned(new Date('2026-11-23T01:30:00Z'), 'Asia/Shanghai')).toBe('2026-11-23T09:30');
	});
});
