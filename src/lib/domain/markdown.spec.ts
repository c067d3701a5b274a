import { describe, expect, it } from 'vitest';
import { markdownLines, markdownText } from './markdown';
import { toMarkdown } from './review-document';

const EVIL = `<script>alert(1)</script> "><img src=x onerror=alert(1)> a & b &lt;`;

describe('text in Markdown exports', () => {
	it('writes HTML as entities, so no renderer runs it, and keeps the text readable', () => {
		const md = markdownText(EVIL);
		expect(md).not.toMatch(/<script|<img/i);
		expect(md).toBe('&lt;script&gt;alert(1)&lt;/script&gt; "&gt;&lt;img src=x onerror=alert(1)&gt; a &amp; b &amp;lt;');
	});

	it('escapes Markdown punctuation and line-start structure', () => {
		expect(markdownText('*bold* _em_ `code` [link](x) a|b ~~s~~ #tag \\')).toBe(
			'\\*bold\\* \\_em\\_ \\`code\\` \\[link\\](x) a\\|b \\~\\~s\\~\\~ \\#tag \\\\'
		);
		expect(markdownLines('# h\n- item\n+ item\n1. item\n2) item\n> quote\n===\nplain')).toEqual([
			'\\# h',
			'\\- item',
			'\\+ item',
			'1\\. item',
			'2\\) item',
			'&gt; quote',
			'\\===',
			'plain'
		]);
	});

	it('is what the review and report exports use in every block', () => {
		const md = toMarkdown([
			{ kind: 'title', text: EVIL },
			{ kind: 'heading', text: EVIL },
			{ kind: 'paragraph', text: EVIL },
			{ kind: 'list', items: [EVIL] },
			{ kind: 'fields', pairs: [[EVIL, EVIL]] },
			{ kind: 'table', head: [EVIL], rows: [[EVIL]] }
		]);
		expect(md).not.toMatch(/<script|<img/i);
		expect(md.match(/&lt;img src=x onerror/g)).toHaveLength(8);
	});
});
