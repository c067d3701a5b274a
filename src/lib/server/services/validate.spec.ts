import { describe, expect, it } from 'vitest';
import { isError, recordId, text } from './validate';

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

describe('recordId', () => {
	it('keeps UUIDs and short URL-safe ids, and refuses what names no record (NUL, SQL, over-long)', () => {
		expect(recordId('6f1c0d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f')).toBe('6f1c0d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f');
		expect(recordId('inc-secret')).toBe('inc-secret');
		for (const bad of ['a\u0000b', "x' OR '1'='1", '', 'x'.repeat(129), 42, null, undefined]) expect(recordId(bad)).toBeUndefined();
	});
});
