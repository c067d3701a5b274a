/**
 * The shared incident document (a public contract, see docs/collab.md): one Y.Doc per incident, room
 * name = incident id, holding
 *   - `timeline`: Y.Array of Y.Map entries (id, at, recordedAt, kind, text: Y.Text, author, authorName,
 *     pinned, offline, deletedBy, deletedAt, and `i18n` {zh-CN, en} on server-written system entries),
 *   - `notes`: Y.Text of shared working notes,
 *   - `checklist`: Y.Map owned by the playbooks feature.
 * Pure and isomorphic: the server (system entries, exports) and the browser (the war-room screen) both
 * use these helpers, so the shape is written in exactly one place. Ids and clocks are passed in.
 */
import * as Y from 'yjs';
import { markdownText } from '../domain/markdown';

export const TIMELINE_KINDS = [
	'note',
	'observation',
	'action',
	'decision',
	'communication',
	'status',
	'role',
	'escalation',
	'playbook'
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/** Kinds a person picks in the quick-add box; the rest are written by the server as facts change. */
export const MANUAL_KINDS: readonly TimelineKind[] = ['note', 'observation', 'action', 'decision', 'communication'];

/** An entry's text is a log line, not a document: longer pastes belong in the notes. */
export const MAX_ENTRY_TEXT_CHARS = 10_000;

export interface LocalizedText {
	'zh-CN': string;
	en: string;
}

/** A timeline entry as a plain object (what the screen and the exports read). */
export interface TimelineEntry {
	id: string;
	/** Event time, ISO 8601: when it happened, not when it was typed. */
	at: string;
	/** When it was written down, ISO 8601. */
	recordedAt: string;
	kind: TimelineKind;
	text: string;
	/** User id; null for entries written by the server (system entries). */
	author: string | null;
	authorName: string;
	pinned: boolean;
	/** Written while the author's client was disconnected. */
	offline: boolean;
	deletedBy: string | null;
	deletedAt: string | null;
	/** System entries carry both languages; `text` holds the organisation's default language. */
	i18n: LocalizedText | null;
}

export interface NewEntry {
	id: string;
	at: Date | string;
	recordedAt: Date | string;
	kind: TimelineKind;
	text: string;
	author: string | null;
	authorName: string;
	pinned?: boolean;
	offline?: boolean;
	i18n?: LocalizedText | null;
}

export class IncidentDocError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'IncidentDocError';
	}
}

export function isTimelineKind(value: unknown): value is TimelineKind {
	return typeof value === 'string' && (TIMELINE_KINDS as readonly string[]).includes(value);
}

export function timelineOf(doc: Y.Doc): Y.Array<Y.Map<unknown>> {
	return doc.getArray<Y.Map<unknown>>('timeline');
}

export function notesOf(doc: Y.Doc): Y.Text {
	return doc.getText('notes');
}

export function checklistOf(doc: Y.Doc): Y.Map<unknown> {
	return doc.getMap<unknown>('checklist');
}

/** Normalises a Date or an ISO string to ISO 8601 (UTC); anything unparsable is an error, not "Invalid Date". */
export function toIso(value: Date | string, field: string): string {
	const d = value instanceof Date ? value : new Date(value);
	if (Number.isNaN(d.getTime())) throw new IncidentDocError(`${field} must be a valid date or ISO 8601 time (got "${String(value)}")`);
	return d.toISOString();
}

function checkText(text: string): void {
	if (typeof text !== 'string') throw new IncidentDocError('text must be a string');
	if (text.length > MAX_ENTRY_TEXT_CHARS)
		throw new IncidentDocError(`text must be at most ${MAX_ENTRY_TEXT_CHARS} characters (got ${text.length})`);
}

/** Appends an entry (the array keeps insertion order; readers sort by `at`). Returns the id. */
export function createEntry(doc: Y.Doc, input: NewEntry): string {
	if (typeof input.id !== 'string' || input.id.length === 0 || input.id.length > 100)
		throw new IncidentDocError('id must be a non-empty string of at most 100 characters');
	if (!isTimelineKind(input.kind))
		throw new IncidentDocError(`kind must be one of ${TIMELINE_KINDS.join(', ')} (got "${String(input.kind)}")`);
	checkText(input.text);
	if (input.text.trim() === '') throw new IncidentDocError('text must not be empty');
	const at = toIso(input.at, 'at');
	const recordedAt = toIso(input.recordedAt, 'recordedAt');
	if (findEntry(doc, input.id)) throw new IncidentDocError(`an entry with id ${input.id} already exists`);

	const entry = new Y.Map<unknown>();
	doc.transact(() => {
		// Fill the map before inserting it, so peers never see a half-built entry.
		entry.set('id', input.id);
		entry.set('at', at);
		entry.set('recordedAt', recordedAt);
		entry.set('kind', input.kind);
		entry.set('text', new Y.Text(input.text));
		entry.set('author', input.author);
		entry.set('authorName', input.authorName);
		entry.set('pinned', input.pinned ?? false);
		entry.set('offline', input.offline ?? false);
		entry.set('deletedBy', null);
		entry.set('deletedAt', null);
		if (input.i18n) entry.set('i18n', { 'zh-CN': input.i18n['zh-CN'], en: input.i18n.en });
		timelineOf(doc).push([entry]);
	});
	return input.id;
}

export function findEntry(doc: Y.Doc, id: string): Y.Map<unknown> | undefined {
	for (const item of timelineOf(doc)) {
		if (item instanceof Y.Map && item.get('id') === id) return item;
	}
	return undefined;
}

function requireEntry(doc: Y.Doc, id: string): Y.Map<unknown> {
	const entry = findEntry(doc, id);
	if (!entry) throw new IncidentDocError(`no timeline entry with id ${id}`);
	return entry;
}

/**
 * Replaces the text of a Y.Text with the smallest single edit (common prefix and suffix kept), so
 * two people editing different parts of the same text both keep their change.
 */
export function applyTextDiff(ytext: Y.Text, next: string): void {
	const prev = ytext.toString();
	if (prev === next) return;
	let start = 0;
	const max = Math.min(prev.length, next.length);
	while (start < max && prev.charCodeAt(start) === next.charCodeAt(start)) start++;
	let endPrev = prev.length;
	let endNext = next.length;
	while (endPrev > start && endNext > start && prev.charCodeAt(endPrev - 1) === next.charCodeAt(endNext - 1)) {
		endPrev--;
		endNext--;
	}
	// Never split a surrogate pair: step back if the edit would start on a low surrogate.
	if (start > 0 && isLowSurrogate(prev.charCodeAt(start))) start--;
	if (endPrev < prev.length && isLowSurrogate(prev.charCodeAt(endPrev)) && endPrev > start) {
		endPrev++;
		endNext++;
	}
	const doc = ytext.doc;
	const edit = () => {
		if (endPrev > start) ytext.delete(start, endPrev - start);
		if (endNext > start) ytext.insert(start, next.slice(start, endNext));
	};
	if (doc) doc.transact(edit);
	else edit();
}

function isLowSurrogate(code: number): boolean {
	return code >= 0xdc00 && code <= 0xdfff;
}

export function setEntryText(doc: Y.Doc, id: string, text: string): void {
	checkText(text);
	const entry = requireEntry(doc, id);
	const ytext = entry.get('text');
	if (ytext instanceof Y.Text) applyTextDiff(ytext, text);
	else entry.set('text', new Y.Text(text));
}

export function setEntryTime(doc: Y.Doc, id: string, at: Date | string): void {
	const iso = toIso(at, 'at');
	const entry = requireEntry(doc, id);
	if (entry.get('at') !== iso) entry.set('at', iso);
}

export function setPinned(doc: Y.Doc, id: string, pinned: boolean): void {
	const entry = requireEntry(doc, id);
	if (entry.get('pinned') !== pinned) entry.set('pinned', pinned);
}

/** Entries are never physically removed (the timeline is evidence): a soft-delete records who and when. */
export function softDelete(doc: Y.Doc, opts: { id: string; by: string; at: Date | string }): void {
	const at = toIso(opts.at, 'at');
	const entry = requireEntry(doc, opts.id);
	if (entry.get('deletedAt')) return;
	doc.transact(() => {
		entry.set('deletedBy', opts.by);
		entry.set('deletedAt', at);
	});
}

export function restoreEntry(doc: Y.Doc, id: string): void {
	const entry = requireEntry(doc, id);
	doc.transact(() => {
		entry.set('deletedBy', null);
		entry.set('deletedAt', null);
	});
}

function str(v: unknown): string | null {
	return typeof v === 'string' ? v : null;
}

/**
 * Reads one entry defensively: the document is written by many clients, and a buggy or hostile one
 * must not break everyone's screen, so malformed entries read as `null` and are skipped.
 */
export function readEntry(map: unknown): TimelineEntry | null {
	if (!(map instanceof Y.Map)) return null;
	const id = str(map.get('id'));
	const at = str(map.get('at'));
	const kind = map.get('kind');
	if (!id || !at || Number.isNaN(Date.parse(at)) || !isTimelineKind(kind)) return null;
	const text = map.get('text');
	const i18n = map.get('i18n') as Partial<LocalizedText> | undefined | null;
	return {
		id,
		at,
		recordedAt: str(map.get('recordedAt')) ?? at,
		kind,
		text: text instanceof Y.Text ? text.toString() : (str(text) ?? ''),
		author: str(map.get('author')),
		authorName: str(map.get('authorName')) ?? '',
		pinned: map.get('pinned') === true,
		offline: map.get('offline') === true,
		deletedBy: str(map.get('deletedBy')),
		deletedAt: str(map.get('deletedAt')),
		i18n:
			i18n && typeof i18n === 'object' && typeof i18n['zh-CN'] === 'string' && typeof i18n.en === 'string'
				? { 'zh-CN': i18n['zh-CN'], en: i18n.en }
				: null
	};
}

/** Event-time order; ties by recording time, then id, so every client shows the same order. */
export function compareEntries(a: TimelineEntry, b: TimelineEntry): number {
	const d = Date.parse(a.at) - Date.parse(b.at);
	if (d !== 0) return d;
	if (a.recordedAt !== b.recordedAt) return a.recordedAt < b.recordedAt ? -1 : 1;
	return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function listEntries(doc: Y.Doc, opts: { includeDeleted?: boolean } = {}): TimelineEntry[] {
	const out: TimelineEntry[] = [];
	for (const item of timelineOf(doc)) {
		const entry = readEntry(item);
		if (!entry) continue;
		if (entry.deletedAt && !opts.includeDeleted) continue;
		out.push(entry);
	}
	return out.sort(compareEntries);
}

/** The text to show: a system entry in the reader's language, otherwise what was typed. */
export function entryText(entry: TimelineEntry, locale: keyof LocalizedText): string {
	return entry.i18n ? entry.i18n[locale] : entry.text;
}

export interface ExportOptions {
	/** Formats an ISO time for people (e.g. in the organisation's time zone); ISO by default. */
	formatTime?: (iso: string) => string;
	/** A kind's label in the reader's language; the kind itself by default. */
	kindLabel?: (kind: TimelineKind) => string;
	locale?: keyof LocalizedText;
	title?: string;
}

export function timelineToMarkdown(entries: readonly TimelineEntry[], opts: ExportOptions = {}): string {
	const fmt = opts.formatTime ?? ((iso: string) => iso);
	const label = opts.kindLabel ?? ((k: TimelineKind) => k);
	const locale = opts.locale ?? 'en';
	const lines: string[] = [];
	if (opts.title) lines.push(`# ${markdownText(opts.title)}`, '');
	for (const e of [...entries].sort(compareEntries)) {
		const marks = [e.pinned ? '📌' : '', e.offline ? '(offline)' : ''].filter(Boolean).join(' ');
		const body = markdownText(entryText(e, locale)).replace(/\r?\n/g, '  \n  ');
		const who = e.authorName ? ` — ${markdownText(e.authorName)}` : '';
		const head = `- **${markdownText(fmt(e.at))}** [${markdownText(label(e.kind))}]${marks ? ' ' + marks : ''}`;
		lines.push(`${head} ${e.deletedAt ? `~~${body}~~` : body}${who}`);
	}
	return lines.join('\n') + '\n';
}

/**
 * A cell that a spreadsheet would run as a formula (starting with = + - @, or a tab/CR that some
 * programs strip first) gets a leading apostrophe: the classic CSV-injection guard.
 */
export function csvCell(value: string | null | undefined): string {
	let v = value ?? '';
	if (/^[=+\-@\t\r]/.test(v)) v = `'${v}`;
	if (/[",\r\n]/.test(v)) v = `"${v.replace(/"/g, '""')}"`;
	return v;
}

export function timelineToCsv(entries: readonly TimelineEntry[], opts: ExportOptions = {}): string {
	const fmt = opts.formatTime ?? ((iso: string) => iso);
	const label = opts.kindLabel ?? ((k: TimelineKind) => k);
	const locale = opts.locale ?? 'en';
	const header = ['at', 'recorded_at', 'kind', 'text', 'author', 'pinned', 'offline', 'deleted_at'];
	const rows = [...entries]
		.sort(compareEntries)
		.map((e) =>
			[
				fmt(e.at),
				fmt(e.recordedAt),
				label(e.kind),
				entryText(e, locale),
				e.authorName,
				e.pinned ? 'yes' : 'no',
				e.offline ? 'yes' : 'no',
				e.deletedAt ? fmt(e.deletedAt) : ''
			]
				.map(csvCell)
				.join(',')
		);
	// CRLF per RFC 4180; Excel and the ops centre's reporting tools both read it.
	return [header.join(','), ...rows].join('\r\n') + '\r\n';
}
