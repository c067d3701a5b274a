import { describe, expect, it } from 'vitest';
import { err, ok } from './result';

describe('result values', () => {
	it('wraps a success value so callers can branch on ok', () => {
		const r = ok(3);
		expect(r.ok && r.value).toBe(3);
	});
	it('wraps an expected failure with its code and field', () => {
		const r = err({ code: 'invalid', message: 'bad', field: 'title' });
		expect(r.ok).toBe(false);
		expect(!r.ok && r.error.field).toBe('title');
	});
});
