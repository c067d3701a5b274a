import { describe, expect, it } from 'vitest';
import { MAX_DIFF_CELLS, diffStats, diffText, type DiffOp } from './text-diff';

const before = (ops: DiffOp[]) =>
	ops
		.filter((o) => o.op !== 'insert')
		.map((o) => o.text)
		.join('');
const after = (ops: DiffOp[]) =>
	ops
		.filter((o) => o.op !== 'delete')
		.map((o) => o.text)
		.join('');

describe('diffText', () => {
	it('returns one equal part for identical texts and nothing for two empty ones', () => {
		expect(diffText('same\ntext\n', 'same\ntext\n')).toEqual([{ op: 'equal', text: 'same\ntext\n' }]);
		expect(diffText('', '')).toEqual([]);
	});

	it('shows a whole text inserted into an empty one', () => {
		expect(diffText('', 'new report\n')).toEqual([{ op: 'insert', text: 'new report\n' }]);
		expect(diffText('old report\n', '')).toEqual([{ op: 'delete', text: 'old report\n' }]);
	});

	it('shows an added line between unchanged ones', () => {
		expect(diffText('a\nc\n', 'a\nb\nc\n')).toEqual([
			{ op: 'equal', text: 'a\n' },
			{ op: 'insert', text: 'b\n' },
			{ op: 'equal', text: 'c\n' }
		]);
	});

	it('shows a removed line between unchanged ones', () => {
		expect(diffText('a\nb\nc\n', 'a\nc\n')).toEqual([
			{ op: 'equal', text: 'a\n' },
			{ op: 'delete', text: 'b\n' },
			{ op: 'equal', text: 'c\n' }
		]);
	});

	it('narrows a changed line down to the word that changed', () => {
		const v1 = 'Status: investigating\nEstimated recovery 14:00 CST\nNext update 13:30\n';
		const v2 = 'Status: investigating\nEstimated recovery 15:00 CST\nNext update 13:30\n';
		expect(diffText(v1, v2)).toEqual([
			{ op: 'equal', text: 'Status: investigating\nEstimated recovery ' },
			{ op: 'delete', text: '14' },
			{ op: 'insert', text: '15' },
			{ op: 'equal', text: ':00 CST\nNext update 13:30\n' }
		]);
	});

	it('compares Chinese text character by character, since it has no spaces between words', () => {
		expect(diffText('核心系统数据库故障\n', '核心系统网络故障\n')).toEqual([
			{ op: 'equal', text: '核心系统' },
			{ op: 'delete', text: '数据库' },
			{ op: 'insert', text: '网络' },
			{ op: 'equal', text: '故障\n' }
		]);
	});

	it('keeps a Latin word whole next to Chinese text', () => {
		expect(diffText('Oracle数据库\n', 'MySQL数据库\n')).toEqual([
			{ op: 'delete', text: 'Oracle' },
			{ op: 'insert', text: 'MySQL' },
			{ op: 'equal', text: '数据库\n' }
		]);
	});

	it('puts the delete before the insert that replaces it', () => {
		const ops = diffText('x\n', 'y\n');
		expect(ops.map((o) => o.op)).toEqual(['delete', 'insert', 'equal']);
	});

	it('treats a missing final newline as a change', () => {
		expect(diffText('end', 'end\n')).toEqual([
			{ op: 'equal', text: 'end' },
			{ op: 'insert', text: '\n' }
		]);
	});

	it('handles Windows line endings without splitting them apart', () => {
		const ops = diffText('a\r\nb\r\n', 'a\r\nc\r\n');
		expect(ops[0]).toEqual({ op: 'equal', text: 'a\r\n' });
		expect(before(ops)).toBe('a\r\nb\r\n');
		expect(after(ops)).toBe('a\r\nc\r\n');
	});

	it('never has two neighbouring parts of the same kind or an empty part', () => {
		const ops = diffText('one two three\nfour\nfive six\n', 'one 2 three\nfour\nfive seven six\nnew\n');
		for (let i = 0; i < ops.length; i++) {
			expect(ops[i]!.text).not.toBe('');
			if (i > 0) expect(ops[i]!.op).not.toBe(ops[i - 1]!.op);
		}
	});

	it('always rebuilds both texts from its parts, on many random edits', () => {
		// Seeded so a failure is reproducible.
		let seed = 12345;
		const rand = (n: number) => {
			seed = (seed * 1103515245 + 12345) % 2 ** 31;
			return seed % n;
		};
		const vocabulary = ['alpha', 'beta', ' ', '\n', '故', '障', ',', '  ', 'P1', '\r\n'];
		const text = () => Array.from({ length: rand(40) }, () => vocabulary[rand(vocabulary.length)]).join('');
		for (let k = 0; k < 300; k++) {
			const a = text();
			const b = text();
			const ops = diffText(a, b);
			expect(before(ops)).toBe(a);
			expect(after(ops)).toBe(b);
		}
	});
});

describe('diffText on big inputs', () => {
	it('falls back to replacing the changed block whole when the line table would be too big', () => {
		const lines = Math.ceil(Math.sqrt(MAX_DIFF_CELLS)) + 10;
		const a = Array.from({ length: lines }, (_, i) => `old line ${i}\n`).join('');
		const b = Array.from({ length: lines }, (_, i) => `new line ${i}\n`).join('');
		const started = performance.now();
		const ops = diffText(`header\n${a}footer\n`, `header\n${b}footer\n`);
		expect(performance.now() - started).toBeLessThan(2_000);
		expect(ops.map((o) => o.op)).toEqual(['equal', 'delete', 'insert', 'equal']);
		expect(ops[1]!.text).toBe(a);
		expect(ops[2]!.text).toBe(b);
	});

	it('still finds a small edit in a long report quickly, by matching the unchanged ends first', () => {
		const body = Array.from({ length: 20_000 }, (_, i) => `timeline entry ${i}\n`).join('');
		const started = performance.now();
		const ops = diffText(`${body}Root cause: disk\n${body}`, `${body}Root cause: network\n${body}`);
		expect(performance.now() - started).toBeLessThan(2_000);
		expect(ops.filter((o) => o.op !== 'equal')).toEqual([
			{ op: 'delete', text: 'disk' },
			{ op: 'insert', text: 'network' }
		]);
	});
});

describe('diffStats', () => {
	it('counts inserted and deleted characters, Chinese characters as one each', () => {
		expect(diffStats(diffText('核心系统数据库故障\n', '核心系统网络故障\n'))).toEqual({
			inserted: 2,
			deleted: 3
		});
	});
});
