import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	applyTextDiff,
	createEntry,
	csvCell,
	findEntry,
	IncidentDocError,
	listEntries,
	notesOf,
	readEntry,
	setEntryText,
	setEntryTime,
	setPinned,
	softDelete,
	timelineOf,
	timelineToCsv,
	timelineToMarkdown,
	type NewEntry
} from './incident-doc';

const T0 = '2026-11-23T08:00:00.000Z';

function entry(over: Partial<NewEntry> = {}): NewEntry {
	return {
		id: over.id ?? `e${Math.random().toString(36).slice(2)}`,
		at: T0,
		recordedAt: T0,
		kind: 'note',
		text: 'Core banking latency above 2 s',
		author: 'u1',
		authorName: 'Li Wei',
		...over
	};
}

function sync(a: Y.Doc, b: Y.Doc): void {
	Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
	Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
}

describe('incident document', () => {
	it('creates an entry with every contract field and reads it back as a plain object', () => {
		const doc = new Y.Doc();
		createEntry(doc, entry({ id: 'a', kind: 'decision', pinned: true, offline: true }));
		const map = findEntry(doc, 'a')!;
		expect(map.get('text')).toBeInstanceOf(Y.Text);
		expect(readEntry(map)).toEqual({
			id: 'a',
			at: T0,
			recordedAt: T0,
			kind: 'decision',
			text: 'Core banking latency above 2 s',
			author: 'u1',
			authorName: 'Li Wei',
			pinned: true,
			offline: true,
			deletedBy: null,
			deletedAt: null,
			i18n: null
		});
	});

	it('lists entries by event time, not by the order they were typed', () => {
		const doc = new Y.Doc();
		createEntry(doc, entry({ id: 'late', at: '2026-11-23T09:00:00Z' }));
		createEntry(doc, entry({ id: 'early', at: '2026-11-23T07:00:00Z' }));
		createEntry(doc, entry({ id: 'mid', at: '2026-11-23T08:00:00+00:00' }));
		expect(listEntries(doc).map((e) => e.id)).toEqual(['early', 'mid', 'late']);
	});

	it('soft-deletes: the entry stays in the document but leaves the default list', () => {
		const doc = new Y.Doc();
		createEntry(doc, entry({ id: 'a' }));
		softDelete(doc, { id: 'a', by: 'u2', at: '2026-11-23T08:05:00Z' });
		expect(timelineOf(doc).length).toBe(1);
		expect(listEntries(doc)).toEqual([]);
		const [deleted] = listEntries(doc, { includeDeleted: true });
		expect(deleted).toMatchObject({ deletedBy: 'u2', deletedAt: '2026-11-23T08:05:00.000Z' });
	});

	it('edits text, time and pin in place', () => {
		const doc = new Y.Doc();
		createEntry(doc, entry({ id: 'a' }));
		setEntryText(doc, 'a', 'Core banking latency above 3 s');
		setEntryTime(doc, 'a', new Date('2026-11-23T07:55:00Z'));
		setPinned(doc, 'a', true);
		expect(listEntries(doc)[0]).toMatchObject({ text: 'Core banking latency above 3 s', at: '2026-11-23T07:55:00.000Z', pinned: true });
	});

	it('rejects bad input with a clear error', () => {
		const doc = new Y.Doc();
		expect(() => createEntry(doc, entry({ kind: 'gossip' as never }))).toThrow(/kind must be one of/);
		expect(() => createEntry(doc, entry({ at: 'yesterday-ish' }))).toThrow(/at must be a valid date/);
		expect(() => createEntry(doc, entry({ text: '   ' }))).toThrow(/must not be empty/);
		expect(() => createEntry(doc, entry({ text: 'x'.repeat(10_001) }))).toThrow(IncidentDocError);
		createEntry(doc, entry({ id: 'dup' }));
		expect(() => createEntry(doc, entry({ id: 'dup' }))).toThrow(/already exists/);
		expect(() => setPinned(doc, 'missing', true)).toThrow(/no timeline entry/);
	});

	it('skips malformed entries written by a buggy client instead of breaking the list', () => {
		const doc = new Y.Doc();
		createEntry(doc, entry({ id: 'good' }));
		const bad = new Y.Map<unknown>();
		bad.set('id', 'bad');
		bad.set('kind', 'nonsense');
		timelineOf(doc).push([bad]);
		expect(listEntries(doc).map((e) => e.id)).toEqual(['good']);
	});

	it('diffs text minimally, so concurrent edits to different parts both survive', () => {
		const a = new Y.Doc();
		const b = new Y.Doc();
		notesOf(a).insert(0, 'alpha beta gamma');
		sync(a, b);
		applyTextDiff(notesOf(a), 'ALPHA beta gamma');
		applyTextDiff(notesOf(b), 'alpha beta GAMMA');
		sync(a, b);
		expect(notesOf(a).toString()).toBe('ALPHA beta GAMMA');
		expect(notesOf(b).toString()).toBe('ALPHA beta GAMMA');
	});

	it('keeps surrogate pairs whole when diffing', () => {
		const doc = new Y.Doc();
		notesOf(doc).insert(0, 'a😀b');
		applyTextDiff(notesOf(doc), 'a😃b');
		expect(notesOf(doc).toString()).toBe('a😃b');
	});

	it('two people adding entries concurrently both keep theirs', () => {
		const a = new Y.Doc();
		const b = new Y.Doc();
		createEntry(a, entry({ id: 'from-a', at: '2026-11-23T08:01:00Z' }));
		createEntry(b, entry({ id: 'from-b', at: '2026-11-23T08:00:30Z' }));
		sync(a, b);
		expect(listEntries(a).map((e) => e.id)).toEqual(['from-b', 'from-a']);
		expect(listEntries(b).map((e) => e.id)).toEqual(['from-b', 'from-a']);
	});
});

describe('exports', () => {
	it('writes Markdown in event-time order with kind, author and marks', () => {
		const doc = new Y.Doc();
		createEntry(doc, entry({ id: 'b', at: '2026-11-23T08:10:00Z', kind: 'decision', text: 'Fail over to DC2', pinned: true }));
		createEntry(doc, entry({ id: 'a', at: '2026-11-23T08:00:00Z', text: 'Alarm *storm*' }));
		const md = timelineToMarkdown(listEntries(doc), { title: 'INC-1' });
		expect(md).toBe(
			'# INC-1\n\n' +
				'- **2026-11-23T08:00:00.000Z** [note] Alarm \\*storm\\* — Li Wei\n' +
				'- **2026-11-23T08:10:00.000Z** [decision] 📌 Fail over to DC2 — Li Wei\n'
		);
	});

	it('writes CSV with quoting and a guard against formula injection', () => {
		const doc = new Y.Doc();
		createEntry(doc, entry({ id: 'a', text: '=HYPERLINK("http://evil")' }));
		createEntry(doc, entry({ id: 'b', at: '2026-11-23T08:01:00Z', text: 'line one\nline, two', authorName: '@admin' }));
		const csv = timelineToCsv(listEntries(doc));
		const lines = csv.split('\r\n');
		expect(lines[0]).toBe('at,recorded_at,kind,text,author,pinned,offline,deleted_at');
		expect(lines[1]).toBe(`${T0},${T0},note,"'=HYPERLINK(""http://evil"")",Li Wei,no,no,`);
		expect(csv).toContain(`"line one\nline, two",'@admin`);
	});

	it('guards every formula prefix', () => {
		for (const p of ['=', '+', '-', '@']) expect(csvCell(`${p}1`)).toBe(`'${p}1`);
		expect(csvCell('plain')).toBe('plain');
	});

	it('exports a system entry in the reader language', () => {
		const doc = new Y.Doc();
		createEntry(
			doc,
			entry({
				id: 's',
				kind: 'status',
				text: '状态：已缓解',
				author: null,
				authorName: 'Warroom',
				i18n: { 'zh-CN': '状态：已缓解', en: 'Status: mitigated' }
			})
		);
		expect(timelineToCsv(listEntries(doc), { locale: 'en' })).toContain('Status: mitigated');
	});
});
