import { describe, expect, it } from 'vitest';
import { parseCookies } from './board-fast-path';

describe('cookie header parsing (as SvelteKit reads it)', () => {
	it('reads names and decoded values; the first of a repeated name wins', () => {
		const c = parseCookies('warroom_session=abc.def; warroom_lang=en;warroom_theme=dark; x=%E4%B8%AD; warroom_lang=zh-CN');
		expect(c.get('warroom_session')).toBe('abc.def');
		expect(c.get('warroom_lang')).toBe('en');
		expect(c.get('warroom_theme')).toBe('dark');
		expect(c.get('x')).toBe('中');
	});

	it('survives junk: no header, parts without =, bad escapes, quoted values', () => {
		expect(parseCookies(undefined).size).toBe(0);
		const c = parseCookies('novalue; =empty; bad=%E4%; q="quoted"');
		expect(c.has('novalue')).toBe(false);
		expect(c.get('bad')).toBe('%E4%');
		expect(c.get('q')).toBe('quoted');
	});
});
