import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { catalogues, createI18n, dateFormat, formatDuration, negotiateLocale, translate } from './index';

function sourceFiles(dir: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
		const p = path.join(dir, e.name);
		if (e.isDirectory()) return sourceFiles(p);
		return /\.(svelte|ts)$/.test(e.name) && !e.name.endsWith('.spec.ts') ? [p] : [];
	});
}

describe('messages', () => {
	it('has the same keys in Chinese and English', () => {
		expect(Object.keys(catalogues['zh-CN']).sort()).toEqual(Object.keys(catalogues.en).sort());
	});

	it('has no empty message in either language', () => {
		for (const locale of ['zh-CN', 'en'] as const)
			for (const [k, v] of Object.entries(catalogues[locale])) expect(v.trim(), `${locale} ${k}`).not.toBe('');
	});

	it('formats every message in both languages, angle brackets included (they are text, not tags)', () => {
		// translate() never throws: a message that fails to format is logged once and shown as its key.
		// Every parameter a message names gets a value (a number suits plurals, selects and dates alike),
		// so any warning is a broken message, not a missing argument.
		const paramsOf = (source: string) => Object.fromEntries([...source.matchAll(/\{\s*(\w+)/g)].map((m) => [m[1]!, 1]));
		const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
		try {
			for (const locale of ['zh-CN', 'en'] as const)
				for (const [key, source] of Object.entries(catalogues[locale]))
					expect(translate(locale, key, paramsOf(source)), `${locale} ${key}`).not.toBe(key);
			expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([]);
		} finally {
			warn.mockRestore();
		}
		expect(translate('en', 'tokens.intro')).toContain('Bearer <token>');
	});

	it('defines every literal key the code passes to t()', () => {
		const root = path.resolve(__dirname, '..', '..');
		const missing: string[] = [];
		for (const file of sourceFiles(root)) {
			const text = fs.readFileSync(file, 'utf8');
			for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z][\w.-]*)'/g)) {
				if (!(m[1]! in catalogues.en)) missing.push(`${path.relative(root, file)}: ${m[1]}`);
			}
		}
		expect(missing).toEqual([]);
	});

	it('passes parameters wherever a message needs them', () => {
		const root = path.resolve(__dirname, '..', '..');
		const missing: string[] = [];
		for (const file of sourceFiles(root)) {
			const text = fs.readFileSync(file, 'utf8');
			for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z][\w.-]*)'\s*\)/g)) {
				const message = catalogues.en[m[1]!];
				if (message && /\{\w+[},]/.test(message))
					missing.push(`${path.relative(root, file)}: ${m[1]} needs ${message.match(/\{\w+/g)?.join(', ')}`);
			}
		}
		expect(missing).toEqual([]);
	});

	it('formats parameters and plural-free messages in both languages', () => {
		expect(translate('en', 'login.throttled', { seconds: 8 })).toBe('Too many failed attempts. Try again in 8 seconds.');
		expect(translate('zh-CN', 'login.throttled', { seconds: 8 })).toBe('失败次数过多，请在 8 秒后重试。');
		// Compiled once: a second call with other values must not get the first call's text back.
		expect(translate('en', 'login.throttled', { seconds: 30 })).toBe('Too many failed attempts. Try again in 30 seconds.');
	});

	it('gives a message without arguments the same text every time, and an unknown key back as itself', () => {
		expect(translate('en', 'board.title')).toBe(catalogues.en['board.title']);
		expect(translate('en', 'board.title')).toBe(translate('en', 'board.title'));
		expect(translate('en', 'no.such.key')).toBe('no.such.key');
	});
});

describe('locale negotiation', () => {
	it.each([
		[undefined, 'zh-CN'],
		['en-US,en;q=0.9', 'en'],
		['zh-TW,zh;q=0.9,en;q=0.8', 'zh-CN'],
		['fr-FR, en;q=0.5', 'en'],
		['en;q=0.2, zh;q=0.8', 'zh-CN'],
		['de', 'zh-CN']
	])('picks the right language for %j', (header, expected) => {
		expect(negotiateLocale(header)).toBe(expected);
	});
});

describe('dates and durations in the user time zone', () => {
	it('shows a time in the user’s zone, not the server’s', () => {
		const at = new Date('2026-11-23T01:30:00Z');
		expect(createI18n('en', 'Asia/Shanghai').time(at)).toBe('09:30:00');
		expect(createI18n('en', 'Europe/London').time(at)).toBe('01:30:00');
		// One translator per language and zone, reused.
		expect(createI18n('en', 'Europe/London')).toBe(createI18n('en', 'Europe/London'));
		expect(createI18n('en', 'Europe/London')).not.toBe(createI18n('zh-CN', 'Europe/London'));
	});

	it('builds a date format once per language, zone and options', () => {
		const at = new Date('2026-11-23T20:30:00Z');
		const md = dateFormat('en', 'Asia/Shanghai', { month: '2-digit', day: '2-digit' });
		expect(md.format(at)).toBe('11/24');
		expect(dateFormat('en', 'Asia/Shanghai', { month: '2-digit', day: '2-digit' })).toBe(md);
		expect(dateFormat('en', 'Europe/London', { month: '2-digit', day: '2-digit' }).format(at)).toBe('11/23');
	});

	it.each([
		['en', 45_000, '45 s'],
		['en', 12 * 60_000, '12 min'],
		['en', 3 * 3_600_000 + 5 * 60_000, '3 h 05 min'],
		['zh-CN', 26 * 3_600_000, '1天2小时'],
		['zh-CN', 90_000, '1分钟']
	] as const)('formats %s %d ms as %s', (locale, ms, text) => {
		expect(formatDuration(locale, ms)).toBe(text);
	});
});
