/**
 * The "automerge-paper" editing trace for the cold-load scenario (see README.md beside this file).
 *
 * If `automerge-paper.json.gz` (the editing-traces format: `{ startContent, endContent, txns: [{ patches:
 * [[pos, del, ins]] }] }`) is present here, it is used as is. Otherwise a deterministic stand-in of the
 * same shape is generated: exactly 182,315 single-character insertions and 77,463 single-character
 * deletions (the paper trace's counts) producing a 104,852-character LaTeX-like document, written in
 * chunks out of order, with typos backspaced at once and phrases deleted later — so the Y.Text carries
 * the same number of items and tombstones as the real history, but not the same text.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

/** [position, characters deleted, text inserted], positions in the document at the time of the op. */
export type Op = [number, number, string];

export interface Trace {
	source: 'automerge-paper.json.gz' | 'generated';
	endContent: string;
	ops: Op[];
}

export const PAPER = { inserts: 182_315, deletes: 77_463, finalLength: 104_852 } as const;

const FILE = path.join(import.meta.dirname, 'automerge-paper.json.gz');

export function loadTrace(): Trace {
	if (fs.existsSync(FILE)) {
		const json = JSON.parse(zlib.gunzipSync(fs.readFileSync(FILE)).toString('utf8')) as {
			startContent: string;
			endContent: string;
			txns: { patches: [number, number, string][] }[];
		};
		if (json.startContent !== '') throw new Error('automerge-paper.json.gz: expected an empty start');
		return { source: 'automerge-paper.json.gz', endContent: json.endContent, ops: json.txns.flatMap((t) => t.patches) };
	}
	return generateTrace();
}

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const WORDS = (
	'the a of to and in is that for we this an on be as with by are it replica operation list map ' +
	'register cursor insertion deletion concurrent causal order document tree node key value ' +
	'semantics algorithm convergence state network message device edit merge conflict json ' +
	'datatype crdt theorem lemma proof definition section figure example rule context ' +
	'\\emph{identifier} \\cite{Shapiro:2011un} \\ref{sec:semantics} $\\mathsf{ctx}$ $\\Longrightarrow$'
).split(' ');

function generateText(length: number, next: () => number): string {
	let out = '';
	let sentence = 0;
	while (out.length < length) {
		if (sentence === 0 && next() < 0.08) out += next() < 0.5 ? '\n\n\\subsection{Semantics}\n' : '\n\n';
		const w = WORDS[Math.floor(next() * WORDS.length)]!;
		out += (sentence === 0 ? w[0]!.toUpperCase() + w.slice(1) : w) + ' ';
		sentence++;
		if (sentence > 6 + next() * 14) {
			out = out.trimEnd() + '. ';
			sentence = 0;
		}
	}
	return out.slice(0, length);
}

export function generateTrace(seed = 20170401): Trace {
	const next = rng(seed);
	const L = PAPER.finalLength;
	const text = generateText(L, next);
	// Deletion events at final-text indices: typos (backspaced at once) or phrases deleted later.
	const events = new Map<number, { typo: number; junk: number }>();
	let remaining = PAPER.deletes;
	while (remaining > 0) {
		const at = Math.floor(next() * L);
		const len = Math.min(remaining, 1 + Math.floor(next() * next() * 80));
		const e = events.get(at) ?? { typo: 0, junk: 0 };
		if (next() < 0.7) e.typo += len;
		else e.junk += len;
		events.set(at, e);
		remaining -= len;
	}
	// Chunks of 100–600 characters, written mostly in order, sometimes jumping to an unwritten one.
	const chunks: { start: number; end: number }[] = [];
	for (let s = 0; s < L; ) {
		const e = Math.min(L, s + 100 + Math.floor(next() * 500));
		chunks.push({ start: s, end: e });
		s = e;
	}
	const written = new Array<boolean>(chunks.length).fill(false);
	const order: number[] = [];
	let cur = 0;
	for (let n = 0; n < chunks.length; n++) {
		if (n > 0) {
			const seq = cur + 1 < chunks.length && !written[cur + 1] && next() < 0.8;
			if (seq) cur = cur + 1;
			else {
				const open = written.flatMap((w, i) => (w ? [] : [i]));
				cur = open[Math.floor(next() * open.length)]!;
			}
		}
		written[cur] = true;
		order.push(cur);
	}
	written.fill(false);
	const ops: Op[] = [];
	const junkChar = () => 'xqzjkvw'[Math.floor(next() * 7)]!;
	for (const ci of order) {
		const { start, end } = chunks[ci]!;
		let pos = 0;
		for (let i = 0; i < ci; i++) if (written[i]) pos += chunks[i]!.end - chunks[i]!.start;
		const junks: { at: number; len: number }[] = [];
		for (let i = start; i < end; i++) {
			const e = events.get(i);
			if (e) {
				for (let k = 0; k < e.typo; k++) ops.push([pos + k, 0, junkChar()]);
				for (let k = e.typo - 1; k >= 0; k--) ops.push([pos + k, 1, '']);
				for (let k = 0; k < e.junk; k++) ops.push([pos + k, 0, junkChar()]);
				if (e.junk > 0) junks.push({ at: pos, len: e.junk });
				pos += e.junk;
			}
			ops.push([pos, 0, text[i]!]);
			pos++;
		}
		// The phrases left standing are deleted once the chunk is done (delete key), last one first.
		for (const j of junks.reverse()) for (let k = 0; k < j.len; k++) ops.push([j.at, 1, '']);
		written[ci] = true;
	}
	return { source: 'generated', endContent: text, ops };
}

export interface History {
	trace: Trace['source'];
	ops: number;
	/** One merged update per `opsPerUpdate` ops (each op its own transaction, as typed). */
	updates: Uint8Array[];
	/** The whole document as one update (what a compaction stores). */
	state: Uint8Array;
	text: string;
}

/** Replays the trace into the `notes` Y.Text of a fresh incident document. */
export function buildHistory(trace: Trace, opsPerUpdate: number): History {
	const doc = new Y.Doc();
	const notes = doc.getText('notes');
	const updates: Uint8Array[] = [];
	let pending: Uint8Array[] = [];
	doc.on('update', (u: Uint8Array) => pending.push(u));
	for (let i = 0; i < trace.ops.length; i++) {
		const [pos, del, ins] = trace.ops[i]!;
		doc.transact(() => {
			if (del > 0) notes.delete(pos, del);
			if (ins) notes.insert(pos, ins);
		});
		if ((i + 1) % opsPerUpdate === 0 || i === trace.ops.length - 1) {
			updates.push(pending.length === 1 ? pending[0]! : Y.mergeUpdates(pending));
			pending = [];
		}
	}
	const text = notes.toString();
	if (text !== trace.endContent) throw new Error(`trace replay mismatch: ${text.length} vs ${trace.endContent.length} characters`);
	const state = Y.encodeStateAsUpdate(doc);
	doc.destroy();
	return { trace: trace.source, ops: trace.ops.length, updates, state, text };
}

/** Where `cachedHistory` keeps replays (the usual place for tools' caches; `npm ci` clears it). */
const CACHE_DIR = path.resolve(import.meta.dirname, '../../../node_modules/.cache/warroom-bench');
const CACHE_FORMAT = 'warroom-bench-history-1';

/**
 * `buildHistory`, cached on disk: replaying 260k edits into Yjs one transaction each takes 5–10 s of
 * the generator's time per run, always with the same result. The cache file is keyed by a hash of the
 * trace's ops, `opsPerUpdate` and the Yjs version, and checked on load (the replayed text must equal
 * the trace's end content); anything wrong with it and the history is rebuilt.
 */
export function cachedHistory(
	trace: Trace,
	opsPerUpdate: number,
	log: (m: string) => void = () => {}
): { history: History; from: 'cache' | 'built' } {
	const yjsVersion = (createRequire(import.meta.url)('yjs/package.json') as { version: string }).version;
	const key = createHash('sha256')
		.update(JSON.stringify([CACHE_FORMAT, trace.source, opsPerUpdate, yjsVersion, trace.ops.length]))
		.update(JSON.stringify(trace.ops))
		.digest('hex')
		.slice(0, 24);
	const file = path.join(CACHE_DIR, `history-${key}.bin`);
	try {
		const d = decoding.createDecoder(fs.readFileSync(file));
		if (decoding.readVarString(d) !== CACHE_FORMAT || decoding.readVarString(d) !== key) throw new Error('other format');
		const updates = Array.from({ length: decoding.readVarUint(d) }, () => decoding.readVarUint8Array(d));
		const state = decoding.readVarUint8Array(d);
		const text = decoding.readVarString(d);
		const ops = decoding.readVarUint(d);
		if (text !== trace.endContent || ops !== trace.ops.length || updates.length !== Math.ceil(ops / opsPerUpdate))
			throw new Error('does not match the trace');
		return { history: { trace: trace.source, ops, updates, state, text }, from: 'cache' };
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log(`history cache ${path.basename(file)} unusable (${(error as Error).message}): rebuilding`);
	}
	const history = buildHistory(trace, opsPerUpdate);
	try {
		const e = encoding.createEncoder();
		encoding.writeVarString(e, CACHE_FORMAT);
		encoding.writeVarString(e, key);
		encoding.writeVarUint(e, history.updates.length);
		for (const u of history.updates) encoding.writeVarUint8Array(e, u);
		encoding.writeVarUint8Array(e, history.state);
		encoding.writeVarString(e, history.text);
		encoding.writeVarUint(e, history.ops);
		fs.mkdirSync(CACHE_DIR, { recursive: true });
		const tmp = `${file}.${process.pid}.tmp`;
		fs.writeFileSync(tmp, encoding.toUint8Array(e));
		fs.renameSync(tmp, file);
	} catch (error) {
		log(`could not write the history cache (${(error as Error).message}); the next run replays again`);
	}
	return { history, from: 'built' };
}
