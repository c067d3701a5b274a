/**
 * A small diff for comparing report versions (v2 against v1): lines first, then words inside each
 * changed block, so a one-word fix shows as one word, not a whole paragraph replaced.
 *
 * - Common leading and trailing lines are matched first (the usual case: a few edits in a long
 *   report), then an LCS over the lines in between.
 * - The LCS table is bounded (`MAX_DIFF_CELLS`): above it the middle is shown as a whole-block
 *   replace, so a huge paste cannot stall a request (the table grows as lines(a) × lines(b)).
 * - Words: runs of letters/digits, each whitespace run, each punctuation mark, and each Chinese
 *   character on its own (Chinese has no spaces, so a "word" would otherwise be a whole sentence).
 * - Guarantee: joining the `equal` and `delete` parts gives `a`; joining `equal` and `insert` gives
 *   `b`. Adjacent parts of the same kind are merged; a delete comes before the insert replacing it.
 */

export type DiffOpKind = 'equal' | 'insert' | 'delete';

export interface DiffOp {
	op: DiffOpKind;
	text: string;
}

/** Largest LCS table (cells) computed for lines or for the words of one changed block. */
export const MAX_DIFF_CELLS = 1_000_000;

/** Lines with their line endings, so joining them gives the text back. */
function splitLines(text: string): string[] {
	return text === '' ? [] : text.split(/(?<=\n)/);
}

const WORD_PATTERN =
	/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|(?:(?![\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}])[\p{L}\p{N}\p{M}_])+|\s+|[^]/gu;

function splitWords(text: string): string[] {
	return text.match(WORD_PATTERN) ?? [];
}

/** LCS alignment of two token lists, or null when the table would exceed `MAX_DIFF_CELLS`. */
function lcs(a: readonly string[], b: readonly string[]): DiffOp[] | null {
	const n = a.length;
	const m = b.length;
	if ((n + 1) * (m + 1) > MAX_DIFF_CELLS) return null;
	const width = m + 1;
	// suffix[i * width + j] = LCS length of a[i..] and b[j..]; fits 32 bits for any allowed size.
	const suffix = new Uint32Array((n + 1) * width);
	for (let i = n - 1; i >= 0; i--) {
		for (let j = m - 1; j >= 0; j--) {
			suffix[i * width + j] =
				a[i] === b[j] ? suffix[(i + 1) * width + j + 1]! + 1 : Math.max(suffix[(i + 1) * width + j]!, suffix[i * width + j + 1]!);
		}
	}
	const ops: DiffOp[] = [];
	let i = 0;
	let j = 0;
	while (i < n && j < m) {
		if (a[i] === b[j]) {
			ops.push({ op: 'equal', text: a[i]! });
			i++;
			j++;
		} else if (suffix[(i + 1) * width + j]! >= suffix[i * width + j + 1]!) {
			ops.push({ op: 'delete', text: a[i]! });
			i++;
		} else {
			ops.push({ op: 'insert', text: b[j]! });
			j++;
		}
	}
	while (i < n) ops.push({ op: 'delete', text: a[i++]! });
	while (j < m) ops.push({ op: 'insert', text: b[j++]! });
	return ops;
}

function push(out: DiffOp[], op: DiffOpKind, text: string): void {
	if (text === '') return;
	const last = out[out.length - 1];
	if (last && last.op === op) last.text += text;
	else out.push({ op, text });
}

/** Orders each run of changes as all deletes then all inserts, merging same-kind neighbours. */
function normalise(ops: readonly DiffOp[]): DiffOp[] {
	const out: DiffOp[] = [];
	let deleted = '';
	let inserted = '';
	const flush = () => {
		push(out, 'delete', deleted);
		push(out, 'insert', inserted);
		deleted = inserted = '';
	};
	for (const { op, text } of ops) {
		if (op === 'delete') deleted += text;
		else if (op === 'insert') inserted += text;
		else {
			flush();
			push(out, 'equal', text);
		}
	}
	flush();
	return out;
}

/** Refines a replaced block (deleted lines, then inserted lines) into word-level changes. */
function refine(deleted: string, inserted: string): DiffOp[] {
	const words = lcs(splitWords(deleted), splitWords(inserted));
	return words
		? normalise(words)
		: [
				{ op: 'delete', text: deleted },
				{ op: 'insert', text: inserted }
			];
}

export function diffText(a: string, b: string): DiffOp[] {
	if (a === b) return a === '' ? [] : [{ op: 'equal', text: a }];
	const linesA = splitLines(a);
	const linesB = splitLines(b);

	let start = 0;
	while (start < linesA.length && start < linesB.length && linesA[start] === linesB[start]) start++;
	let endA = linesA.length;
	let endB = linesB.length;
	while (endA > start && endB > start && linesA[endA - 1] === linesB[endB - 1]) {
		endA--;
		endB--;
	}

	const middleA = linesA.slice(start, endA);
	const middleB = linesB.slice(start, endB);
	const lineOps = lcs(middleA, middleB) ?? [
		{ op: 'delete' as const, text: middleA.join('') },
		{ op: 'insert' as const, text: middleB.join('') }
	];

	const out: DiffOp[] = [];
	push(out, 'equal', linesA.slice(0, start).join(''));
	for (const part of normalise(lineOps)) {
		const last = out[out.length - 1];
		if (part.op === 'insert' && last?.op === 'delete') {
			out.pop();
			for (const w of refine(last.text, part.text)) push(out, w.op, w.text);
		} else {
			push(out, part.op, part.text);
		}
	}
	push(out, 'equal', linesA.slice(endA).join(''));
	return out;
}

/** Characters inserted and deleted, for a "+120 −30" summary next to a version. */
export function diffStats(ops: readonly DiffOp[]): { inserted: number; deleted: number } {
	let inserted = 0;
	let deleted = 0;
	for (const { op, text } of ops) {
		if (op === 'insert') inserted += [...text].length;
		else if (op === 'delete') deleted += [...text].length;
	}
	return { inserted, deleted };
}
