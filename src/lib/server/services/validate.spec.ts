import { describe, expect, it } from 'vitest';
import { isError, text } from './validate';

describe('text field validation', () => {
	it('trims and accepts ordinary text in any script', () => {
		expect(text('title', '  核心银行系统 Core banking  ', { max: 100 })).toBe('核心银行系统 Core banking');
	});
	it('refuses control characters and, in one-line fields, line breaks', () => {
		const nul = text('title', 'a\u0000b', { max: 100 });
		expect(isError(nul) && nul.code).toBe('control_characters');
		const nl = text('title', 'a\nb', { max: 100 });
		expect(isError(nl) && nl.code).toBe('control_characters');
		expect(text('description', 'a\nb', { max: 100, multiline: true })).toBe('a\nb');
	});
	it('refuses an unpaired surrogate instead of storing a substitute character', () => {
		const r = text('title', 'lone \ud800 surrogate', { max: 100 });
		expect(isError(r) && r.code).toBe('invalid_characters');
		expect(isError(r) && r.field).toBe('title');
	});
	it('names the limit when text is too long', () => {
		const r = text('title', 'x'.repeat(11), { max: 10 });
		expect(isError(r) && r.params).toEqual({ max: 10 });
	});
});
