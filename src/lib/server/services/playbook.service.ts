/**
 * The playbook library (应急预案库) and running a playbook in an incident.
 *
 * Library: playbook files (synced at start-up by playbooks/loader.ts) and admin uploads are stored
 * as versions; a new version only when the text changes, and changed text must carry a higher
 * `version` than any stored before, so "the incident ran v3" always names one text.
 *
 * Who sees what (the rule, in one place): every signed-in user may browse the library, except that
 * **restricted playbooks** (security incidents such as ransomware) are listed, shown, suggested and
 * loadable only for admins and managers — their steps describe how the bank detects and contains an
 * attack. A restricted playbook may only be loaded into a restricted incident, so its checklist never
 * reaches people outside the incident's response group. Importing and the broken-files list are for
 * admins (`admin_playbooks`).
 *
 * Incident runs: the incident's facts (declaration time, restriction, the actor's membership) are
 * passed in as `IncidentRef` by the caller, which has read them through the incidents service.
 * Loading snapshots the current version into `incident_playbooks` (the incident never re-reads the
 * library), then writes the checklist into the incident's shared document and a timeline entry.
 */
import { createHash } from 'node:crypto';
import * as Y from 'yjs';
import { LineCounter, isMap, parseDocument } from 'yaml';
import { checklistOf } from '../../collab/incident-doc';
import { buildChecklist, checklistKey, readChecklistItem, type ChecklistItem } from '../../domain/checklist';
import { whyNot, type IncidentOperation } from '../../domain/permissions';
import {
	checkPlaybooks,
	parsePlaybook,
	PLAYBOOK_CATEGORIES,
	type LocalisedText,
	type Playbook,
	type PlaybookCategory,
	type PlaybookFile,
	type PlaybookIssue
} from '../../domain/playbook';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import type { IncidentRole } from '../../domain/roles';
import type { Actor, AppContext } from '../context';
import type { Transaction } from 'kysely';
import type { Database, PlaybookRow, PlaybookVersionRow } from '../db/schema';
import { log } from '../log';
import * as repo from '../repositories/playbooks.repository';
import * as audit from './audit.service';

/** An upload larger than this is not a playbook (the biggest shipped one is ~20 KB). */
export const MAX_IMPORT_BYTES = 512 * 1024;
export const MAX_REASON_CHARS = 2000;
const MAX_QUERY_CHARS = 200;

// ---------------------------------------------------------------------------------------------
// Types the routes and the incident page use
// ---------------------------------------------------------------------------------------------

export interface PlaybookSummary {
	id: string;
	category: PlaybookCategory;
	restricted: boolean;
	title: LocalisedText;
	summary: LocalisedText;
	services: string[];
	tags: string[];
	source: 'file' | 'import';
	sourcePath: string | null;
	/** The declared `version` of the current text. */
	version: number;
	versionId: string;
	updatedAt: Date;
	withdrawn: boolean;
}

export interface PlaybookVersionInfo {
	id: string;
	seq: number;
	version: number;
	contentHash: string;
	sourcePath: string | null;
	importedBy: string | null;
	createdAt: Date;
	current: boolean;
}

export interface PlaybookDetail {
	summary: PlaybookSummary;
	/** The version shown: the current one unless another was asked for. */
	shown: PlaybookVersionInfo;
	playbook: Playbook;
	sourceText: string;
	versions: PlaybookVersionInfo[];
}

/** A file of the playbooks directory that could not be used, with every issue found. */
export interface BrokenPlaybookFile {
	path: string;
	errors: PlaybookIssue[];
}

export interface FileSyncReport {
	dir: string;
	loadedAt: Date;
	/** Ids of the valid file playbooks now in the library. */
	valid: string[];
	broken: BrokenPlaybookFile[];
	/** Playbook ids that got a new version in this sync. */
	newVersions: string[];
	/** File playbooks whose file disappeared. */
	withdrawn: string[];
}

/** What the incident page knows about the incident and the actor's place in it. */
export interface IncidentRef {
	id: string;
	declaredAt: Date;
	restricted: boolean;
	/** The actor's role in the incident; null when not a member (a member without a role: 'observer'). */
	memberRole: IncidentRole | null;
}

export interface PlaybookSuggestion extends PlaybookSummary {
	matchedServices: string[];
	categoryMatch: boolean;
}

export interface IncidentPlaybookRun {
	id: string;
	playbookId: string;
	versionId: string;
	version: number;
	loadedBy: string | null;
	loadedAt: Date;
	/** The playbook as it was loaded. */
	playbook: Playbook;
}

export type ImportFailure = DomainError & { issues?: PlaybookIssue[] };

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function isPrivileged(actor: Actor): boolean {
	return actor.kind === 'system' || actor.globalRole === 'admin' || actor.globalRole === 'manager';
}

/** See the module comment: restricted playbooks are for admins and managers. */
export function mayReadRestricted(actor: Actor): boolean {
	return isPrivileged(actor);
}

export function mayAdminPlaybooks(actor: Actor): boolean {
	return actor.kind === 'system' || actor.globalRole === 'admin';
}

function denyAdmin(actor: Actor): DomainError | null {
	if (mayAdminPlaybooks(actor)) return null;
	return {
		code: 'forbidden',
		message: 'Only administrators can import playbooks and see broken playbook files',
		params: { operation: 'admin_playbooks', reason: 'role' }
	};
}

function denyIncident(actor: Actor, incident: IncidentRef, operation: IncidentOperation): DomainError | null {
	if (actor.kind === 'system') return null;
	if (actor.globalRole === 'system') return null;
	return whyNot({
		globalRole: actor.globalRole,
		incidentRole: incident.memberRole,
		member: incident.memberRole !== null,
		restricted: incident.restricted,
		operation
	});
}

export function contentHash(text: string): string {
	return createHash('sha256').update(text, 'utf8').digest('hex');
}

function summaryOf(row: PlaybookRow, version: PlaybookVersionRow | undefined): PlaybookSummary {
	return {
		id: row.id,
		category: row.category as PlaybookCategory,
		restricted: row.restricted,
		title: { 'zh-CN': row.title_zh, en: row.title_en },
		summary: { 'zh-CN': row.summary_zh, en: row.summary_en },
		services: row.services,
		tags: row.tags,
		source: row.source,
		sourcePath: row.source_path,
		version: version?.version ?? 0,
		versionId: row.current_version_id ?? '',
		updatedAt: row.updated_at,
		withdrawn: row.withdrawn_at !== null
	};
}

function versionInfo(v: PlaybookVersionRow, currentId: string | null): PlaybookVersionInfo {
	return {
		id: v.id,
		seq: v.seq,
		version: v.version,
		contentHash: v.content_hash,
		sourcePath: v.source_path,
		importedBy: v.imported_by,
		createdAt: v.created_at,
		current: v.id === currentId
	};
}

function metadataOf(p: Playbook) {
	return {
		category: p.category,
		restricted: p.restricted,
		title_zh: p.title['zh-CN'],
		title_en: p.title.en,
		summary_zh: p.summary['zh-CN'],
		summary_en: p.summary.en,
		services: p.services,
		tags: p.tags
	};
}

/** Line and column of a top-level field's value (the text already parsed as a playbook). */
function fieldPosition(text: string, field: 'id' | 'version'): { line: number; column: number } {
	const lineCounter = new LineCounter();
	const doc = parseDocument(text, { lineCounter });
	const root = doc.contents;
	const node = isMap(root) ? (root.get(field, true) as { range?: [number, number, number] } | undefined) : undefined;
	const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
	return { line, column: col };
}

type StoreOutcome =
	| { kind: 'created'; versionId: string }
	| { kind: 'unchanged'; versionId: string }
	| { kind: 'reverted'; versionId: string }
	| { kind: 'conflict'; issue: PlaybookIssue };

/**
 * Stores `playbook` (parsed from `text`) as the current version of its id, inside `trx`. A text
 * already stored becomes current again (a reverted file); a new text needs a higher `version`.
 */
async function storeVersion(
	trx: Transaction<Database>,
	opts: { playbook: Playbook; text: string; path: string; source: 'file' | 'import'; actorId: string | null; at: Date }
): Promise<StoreOutcome> {
	const { playbook, text, path, source, at } = opts;
	const hash = contentHash(text);
	const existing = await repo.findByIdForUpdate(trx, playbook.id);
	const meta = metadataOf(playbook);
	if (!existing) {
		const versionId = crypto.randomUUID();
		await repo.insert(trx, { id: playbook.id, source, source_path: source === 'file' ? path : null, updated_at: at, ...meta });
		await repo.insertVersion(trx, {
			id: versionId,
			playbook_id: playbook.id,
			seq: 1,
			version: playbook.version,
			content_hash: hash,
			source_text: text,
			parsed: playbook,
			source_path: path,
			imported_by: opts.actorId,
			created_at: at
		});
		await repo.update(trx, playbook.id, { current_version_id: versionId });
		return { kind: 'created', versionId };
	}
	const sourcePatch = { source, source_path: source === 'file' ? path : null, withdrawn_at: null };
	const same = await repo.findVersionByHash(trx, playbook.id, hash);
	if (same) {
		const sourceChanged = existing.source !== source || existing.source_path !== sourcePatch.source_path || existing.withdrawn_at !== null;
		if (same.id === existing.current_version_id) {
			if (sourceChanged) await repo.update(trx, playbook.id, { ...sourcePatch, updated_at: at });
			return { kind: 'unchanged', versionId: same.id };
		}
		await repo.update(trx, playbook.id, { ...meta, ...sourcePatch, current_version_id: same.id, updated_at: at });
		return { kind: 'reverted', versionId: same.id };
	}
	const highs = await repo.versionHighs(trx, playbook.id);
	if (playbook.version <= highs.version) {
		const { line, column } = fieldPosition(text, 'version');
		return {
			kind: 'conflict',
			issue: {
				path,
				line,
				column,
				code: 'invalid_value',
				field: 'version',
				message: `version ${playbook.version} is not higher than the stored version ${highs.version} of "${playbook.id}", but the text changed; raise version to ${highs.version + 1} or more (incidents record the version they ran)`
			}
		};
	}
	const versionId = crypto.randomUUID();
	await repo.insertVersion(trx, {
		id: versionId,
		playbook_id: playbook.id,
		seq: highs.seq + 1,
		version: playbook.version,
		content_hash: hash,
		source_text: text,
		parsed: playbook,
		source_path: path,
		imported_by: opts.actorId,
		created_at: at
	});
	await repo.update(trx, playbook.id, { ...meta, ...sourcePatch, current_version_id: versionId, updated_at: at });
	return { kind: 'created', versionId };
}

// ---------------------------------------------------------------------------------------------
// Syncing the playbooks directory (called by the loader at start-up)
// ---------------------------------------------------------------------------------------------

/** The last file sync per app context (each test builds its own context). */
const fileReports = new WeakMap<AppContext, FileSyncReport>();

export function lastFileSync(ctx: AppContext): FileSyncReport | undefined {
	return fileReports.get(ctx);
}

/**
 * Validates the files exactly like `npm run playbooks:check` and stores every valid one as a
 * version. Invalid files, and valid files that cannot be stored (an unraised version), end up in
 * `broken` with their issues; nothing throws for bad content. Files already marked broken by the
 * reader (unreadable) can be passed in `unreadable`.
 */
export async function syncFilePlaybooks(
	ctx: AppContext,
	opts: { dir: string; files: PlaybookFile[]; unreadable?: BrokenPlaybookFile[] }
): Promise<FileSyncReport> {
	const at = ctx.now();
	const check = checkPlaybooks(opts.files);
	const textByPath = new Map(opts.files.map((f) => [f.path, f.text]));
	const report: FileSyncReport = {
		dir: opts.dir,
		loadedAt: at,
		valid: [],
		broken: [...(opts.unreadable ?? []), ...check.invalid.map((i) => ({ path: i.path, errors: i.errors }))],
		newVersions: [],
		withdrawn: []
	};
	// checkPlaybooks keeps the files' order; pair each valid playbook with its file through the id.
	const pathById = new Map<string, string>();
	for (const f of opts.files) {
		const r = parsePlaybook(f.text, f.path);
		if (r.ok && !pathById.has(r.value.id)) pathById.set(r.value.id, f.path);
	}
	for (const playbook of check.valid) {
		const path = pathById.get(playbook.id) ?? '';
		const text = textByPath.get(path) ?? '';
		try {
			const outcome = await ctx.db.transaction().execute(async (trx) => {
				const o = await storeVersion(trx, { playbook, text, path, source: 'file', actorId: null, at });
				if (o.kind === 'created' || o.kind === 'reverted') {
					await audit.record(trx, {
						actorId: null,
						action: o.kind === 'created' ? 'playbook.version' : 'playbook.revert',
						subjectType: 'playbook',
						subjectId: playbook.id,
						after: { versionId: o.versionId, version: playbook.version, path, source: 'file' },
						at
					});
				}
				return o;
			});
			if (outcome.kind === 'conflict') {
				report.broken.push({ path, errors: [outcome.issue] });
				continue;
			}
			report.valid.push(playbook.id);
			if (outcome.kind === 'created') report.newVersions.push(playbook.id);
		} catch (error) {
			// A database failure for one file must not stop the others (nor start-up); report it with the file.
			log.error('could not store playbook', { path, id: playbook.id, error });
			report.broken.push({
				path,
				errors: [
					{
						path,
						line: 1,
						column: 1,
						code: 'invalid_value',
						field: '',
						message: `could not be stored in the database: ${error instanceof Error ? error.message : String(error)}`
					}
				]
			});
		}
	}
	// A file that is present but broken keeps its playbook's last good version in the library.
	const present = [...new Set([...opts.files.map((f) => f.path), ...(opts.unreadable ?? []).map((u) => u.path)])];
	report.withdrawn = await repo.withdrawFilePlaybooksExcept(ctx.db, present, at);
	fileReports.set(ctx, report);
	return report;
}

/** Admins only: the files of the last sync that could not be used, with their issues. */
export function brokenPlaybooks(ctx: AppContext, actor: Actor): Result<BrokenPlaybookFile[]> {
	const denied = denyAdmin(actor);
	if (denied) return err(denied);
	return ok(fileReports.get(ctx)?.broken ?? []);
}

// ---------------------------------------------------------------------------------------------
// The library
// ---------------------------------------------------------------------------------------------

export interface ListInput {
	query?: string | null;
	category?: string | null;
	service?: string | null;
}

async function summaries(ctx: AppContext, rows: PlaybookRow[]): Promise<PlaybookSummary[]> {
	const out: PlaybookSummary[] = [];
	for (const row of rows) {
		const v = row.current_version_id ? await repo.findVersion(ctx.db, row.current_version_id) : undefined;
		out.push(summaryOf(row, v));
	}
	return out;
}

/**
 * Browse and search. The query matches id, titles and summaries in both languages, service codes
 * and tags; an unknown category reads as "any" rather than an error, since it comes from a URL.
 */
export async function listPlaybooks(ctx: AppContext, actor: Actor, input: ListInput = {}): Promise<PlaybookSummary[]> {
	const category = (PLAYBOOK_CATEGORIES as readonly string[]).includes(input.category ?? '') ? (input.category as string) : undefined;
	const service = input.service?.trim().toUpperCase() || undefined;
	const query = input.query?.trim().slice(0, MAX_QUERY_CHARS) || undefined;
	const rows = await repo.list(ctx.db, { query, category, service, includeRestricted: mayReadRestricted(actor) });
	return summaries(ctx, rows);
}

/** The service codes used by visible playbooks, for the filter. */
export async function playbookServiceCodes(ctx: AppContext, actor: Actor): Promise<string[]> {
	const rows = await repo.list(ctx.db, { includeRestricted: mayReadRestricted(actor) });
	return [...new Set(rows.flatMap((r) => r.services))].sort();
}

/** A playbook with its version history; `versionId` shows an older version. */
export async function getPlaybook(
	ctx: AppContext,
	actor: Actor,
	opts: { id: string; versionId?: string | null }
): Promise<Result<PlaybookDetail>> {
	const row = await repo.findById(ctx.db, opts.id);
	// A restricted playbook the actor may not read is "not found", so its existence does not leak.
	if (!row || (row.restricted && !mayReadRestricted(actor))) return err({ code: 'not_found', message: `No playbook with id ${opts.id}` });
	const versions = await repo.versions(ctx.db, row.id);
	const wanted = opts.versionId ?? row.current_version_id;
	const shown = versions.find((v) => v.id === wanted);
	if (!shown) return err({ code: 'not_found', message: `Playbook ${opts.id} has no version ${String(wanted)}` });
	const current = versions.find((v) => v.id === row.current_version_id);
	return ok({
		summary: summaryOf(row, current),
		shown: versionInfo(shown, row.current_version_id),
		playbook: shown.parsed as Playbook,
		sourceText: shown.source_text,
		versions: versions.map((v) => versionInfo(v, row.current_version_id))
	});
}

/**
 * Admins import a playbook file: validated exactly like the files in playbooks/ (same parser, same
 * messages with line and column), then stored as a new version. The id of a file playbook cannot be
 * taken over by an upload (change the file instead: it is reviewed like code).
 */
export async function importPlaybook(
	ctx: AppContext,
	actor: Actor,
	input: { fileName: string; text: string }
): Promise<Result<{ playbookId: string; versionId: string; created: boolean }, ImportFailure>> {
	const denied = denyAdmin(actor);
	if (denied) return err(denied);
	// The name is shown in messages and stored with the version: keep it one printable line, no path.
	const fileName = [...(input.fileName.trim() || 'upload.yaml')]
		.map((ch) => (ch < ' ' || ch === '/' || ch === '\\' ? '_' : ch))
		.join('')
		.slice(0, 200);
	if (input.text.trim() === '') return err({ code: 'required', message: 'Choose a playbook file or paste its text', field: 'file' });
	if (Buffer.byteLength(input.text, 'utf8') > MAX_IMPORT_BYTES)
		return err({
			code: 'too_large',
			message: `A playbook file must be at most ${MAX_IMPORT_BYTES / 1024} KB`,
			field: 'file',
			params: { max: MAX_IMPORT_BYTES / 1024 }
		});
	if (input.text.includes('\uFFFD'))
		return err({ code: 'invalid_encoding', message: 'The file is not valid UTF-8 text (save it as UTF-8)', field: 'file' });

	const parsed = parsePlaybook(input.text, fileName);
	if (!parsed.ok)
		return err({
			code: 'invalid_playbook',
			message: `${fileName} is not a valid playbook (${parsed.errors.length} issue(s))`,
			field: 'file',
			issues: parsed.errors
		});
	const playbook = parsed.value;
	const existing = await repo.findById(ctx.db, playbook.id);
	if (existing && existing.source === 'file' && existing.withdrawn_at === null) {
		const { line, column } = fieldPosition(input.text, 'id');
		return err({
			code: 'invalid_playbook',
			message: `id "${playbook.id}" belongs to the file ${existing.source_path ?? 'in the playbooks directory'}; change that file instead`,
			field: 'file',
			issues: [
				{
					path: fileName,
					line,
					column,
					code: 'duplicate_playbook_id',
					field: 'id',
					message: `id "${playbook.id}" is already used by ${existing.source_path ?? 'a playbook file'} (file playbooks are changed through their file)`
				}
			]
		});
	}
	const at = ctx.now();
	const outcome = await ctx.db.transaction().execute(async (trx) => {
		const o = await storeVersion(trx, { playbook, text: input.text, path: fileName, source: 'import', actorId: actor.userId, at });
		if (o.kind !== 'conflict')
			await audit.record(trx, {
				actorId: actor.userId,
				action: o.kind === 'unchanged' ? 'playbook.import_unchanged' : 'playbook.import',
				subjectType: 'playbook',
				subjectId: playbook.id,
				after: { versionId: o.versionId, version: playbook.version, fileName },
				at
			});
		return o;
	});
	if (outcome.kind === 'conflict')
		return err({ code: 'invalid_playbook', message: outcome.issue.message, field: 'file', issues: [outcome.issue] });
	return ok({ playbookId: playbook.id, versionId: outcome.versionId, created: outcome.kind === 'created' });
}

// ---------------------------------------------------------------------------------------------
// Running a playbook in an incident
// ---------------------------------------------------------------------------------------------

/**
 * Playbooks that fit an incident: any that covers one of its services or its scenario (category),
 * best first (scenario match, then most services in common). Restricted ones only for admins and
 * managers.
 */
export async function suggestForIncident(
	ctx: AppContext,
	actor: Actor,
	input: { serviceCodes: string[]; category?: string | null }
): Promise<PlaybookSuggestion[]> {
	const codes = new Set(input.serviceCodes.map((c) => c.trim().toUpperCase()).filter(Boolean));
	const rows = await repo.list(ctx.db, { includeRestricted: mayReadRestricted(actor) });
	const scored = rows
		.map((row) => ({
			row,
			matchedServices: row.services.filter((s) => codes.has(s)),
			categoryMatch: !!input.category && row.category === input.category
		}))
		.filter((s) => s.matchedServices.length > 0 || s.categoryMatch)
		.sort(
			(a, b) =>
				Number(b.categoryMatch) - Number(a.categoryMatch) ||
				b.matchedServices.length - a.matchedServices.length ||
				a.row.id.localeCompare(b.row.id)
		);
	const out: PlaybookSuggestion[] = [];
	for (const s of scored) {
		const [summary] = await summaries(ctx, [s.row]);
		if (summary) out.push({ ...summary, matchedServices: s.matchedServices, categoryMatch: s.categoryMatch });
	}
	return out;
}

function runOf(row: {
	id: string;
	playbook_id: string;
	version_id: string;
	loaded_by: string | null;
	loaded_at: Date;
	snapshot: unknown;
}): IncidentPlaybookRun {
	const playbook = row.snapshot as Playbook;
	return {
		id: row.id,
		playbookId: row.playbook_id,
		versionId: row.version_id,
		version: playbook.version,
		loadedBy: row.loaded_by,
		loadedAt: row.loaded_at,
		playbook
	};
}

/** The playbooks loaded into an incident, each as snapshotted (for the war-room page and the review). */
export async function incidentPlaybooks(
	ctx: AppContext,
	actor: Actor,
	input: { incident: IncidentRef }
): Promise<Result<IncidentPlaybookRun[]>> {
	const denied = denyIncident(actor, input.incident, 'view_incident');
	if (denied) return err(denied);
	return ok((await repo.incidentPlaybooks(ctx.db, input.incident.id)).map(runOf));
}

/** Writes the checklist items of the incident's runs that the document does not hold yet. */
function writeItems(doc: Y.Doc, items: ChecklistItem[]): number {
	const checklist = checklistOf(doc);
	let written = 0;
	doc.transact(() => {
		for (const item of items) {
			if (checklist.has(item.key)) continue;
			// Filled before insertion, so peers never see a half-built item.
			const map = new Y.Map<unknown>();
			for (const [k, v] of Object.entries(item)) if (k !== 'key') map.set(k, v);
			checklist.set(item.key, map);
			written++;
		}
	});
	return written;
}

/**
 * Makes sure the incident's shared document holds the checklist of every loaded playbook (items
 * already there are left alone, ticks included). Loading calls it; the incident page may call it
 * again, e.g. after the document was written while the collab module was down.
 */
export async function ensureChecklist(ctx: AppContext, input: { incident: IncidentRef }): Promise<number> {
	if (!ctx.collab) return 0;
	const runs = (await repo.incidentPlaybooks(ctx.db, input.incident.id)).map(runOf);
	const items = runs.flatMap((r) => buildChecklist(r.playbook, { declaredAt: input.incident.declaredAt, loadedAt: r.loadedAt }));
	let written = 0;
	await ctx.collab.transact(input.incident.id, (doc) => {
		written = writeItems(doc, items);
	});
	return written;
}

/**
 * Loads the current version of a playbook into an incident: a snapshot row (the incident's own copy),
 * the checklist in the shared document, and a timeline entry. A playbook runs at most once per
 * incident; several playbooks may run side by side.
 */
export async function loadIntoIncident(
	ctx: AppContext,
	actor: Actor,
	input: { incident: IncidentRef; playbookId: string }
): Promise<Result<{ run: IncidentPlaybookRun; items: ChecklistItem[] }>> {
	const { incident } = input;
	const denied = denyIncident(actor, incident, 'load_playbook');
	if (denied) return err(denied);
	const row = await repo.findById(ctx.db, input.playbookId);
	if (!row || !row.current_version_id || (row.restricted && !mayReadRestricted(actor)))
		return err({ code: 'not_found', message: `No playbook with id ${input.playbookId}`, field: 'playbookId' });
	if (row.withdrawn_at)
		return err({ code: 'withdrawn', message: `Playbook ${row.id} has been withdrawn from the library`, field: 'playbookId' });
	if (row.restricted && !incident.restricted)
		return err({
			code: 'restricted_playbook',
			message: `Playbook ${row.id} is restricted: restrict the incident first, so its steps stay within the response group`,
			field: 'playbookId'
		});
	const version = await repo.findVersion(ctx.db, row.current_version_id);
	if (!version) return err({ code: 'not_found', message: `Playbook ${row.id} has no current version` });
	if (await repo.findIncidentPlaybook(ctx.db, incident.id, row.id))
		return err({ code: 'conflict', message: `Playbook ${row.id} is already loaded into this incident`, field: 'playbookId' });

	const playbook = version.parsed as Playbook;
	const loadedAt = ctx.now();
	const id = crypto.randomUUID();
	const inserted = await ctx.db.transaction().execute(async (trx) => {
		// Checked again inside the transaction; the unique constraint settles a race between two loads.
		if (await repo.findIncidentPlaybook(trx, incident.id, row.id)) return false;
		await repo.insertIncidentPlaybook(trx, {
			id,
			incident_id: incident.id,
			playbook_id: row.id,
			version_id: version.id,
			snapshot: playbook,
			loaded_by: actor.userId,
			loaded_at: loadedAt
		});
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'incident.playbook_loaded',
			subjectType: 'incident',
			subjectId: incident.id,
			after: { playbookId: row.id, versionId: version.id, version: version.version },
			at: loadedAt
		});
		return true;
	});
	if (!inserted) return err({ code: 'conflict', message: `Playbook ${row.id} is already loaded into this incident`, field: 'playbookId' });

	const run = runOf({ id, playbook_id: row.id, version_id: version.id, loaded_by: actor.userId, loaded_at: loadedAt, snapshot: playbook });
	const items = buildChecklist(playbook, { declaredAt: incident.declaredAt, loadedAt });
	const steps = items.length;
	await afterCommit('load playbook', incident.id, async () => {
		await ensureChecklist(ctx, { incident });
		await ctx.collab?.appendSystemEntry(incident.id, {
			kind: 'playbook',
			at: loadedAt,
			text: {
				'zh-CN': `${actor.displayName} 载入应急预案「${playbook.title['zh-CN']}」v${playbook.version}（${steps} 个步骤）`,
				en: `${actor.displayName} loaded the playbook "${playbook.title.en}" v${playbook.version} (${steps} steps)`
			}
		});
	});
	return ok({ run, items });
}

/**
 * The fact is committed; the shared document is a view of it. A failure to write the document is
 * logged, not returned as an error (retrying the load would be refused as a duplicate), and
 * `ensureChecklist` repairs the checklist later.
 */
async function afterCommit(what: string, incidentId: string, fn: () => Promise<void>): Promise<void> {
	try {
		await fn();
	} catch (error) {
		log.error(`${what}: could not update the incident's shared document`, { incidentId, error });
	}
}

async function runAndStep(ctx: AppContext, incidentId: string, playbookId: string, stepId: string) {
	const row = await repo.findIncidentPlaybook(ctx.db, incidentId, playbookId);
	if (!row) return err({ code: 'not_found', message: `Playbook ${playbookId} is not loaded into this incident`, field: 'playbookId' });
	const run = runOf(row);
	for (const phase of run.playbook.phases) {
		const step = phase.steps.find((s) => s.id === stepId);
		if (step) return ok({ run, step });
	}
	return err({ code: 'not_found', message: `Playbook ${playbookId} has no step ${stepId}`, field: 'stepId' });
}

async function readItem(ctx: AppContext, incidentId: string, key: string): Promise<ChecklistItem | null> {
	if (!ctx.collab) return null;
	return ctx.collab.read(incidentId, (doc) => {
		const value = checklistOf(doc).get(key);
		return readChecklistItem(key, value instanceof Y.Map ? value.toJSON() : value);
	});
}

function setFields(doc: Y.Doc, key: string, fields: Record<string, unknown>): void {
	const value = checklistOf(doc).get(key);
	if (!(value instanceof Y.Map)) return;
	doc.transact(() => {
		for (const [k, v] of Object.entries(fields)) value.set(k, v);
	});
}

/**
 * Ticks (or un-ticks) a step from the server, for the no-JavaScript form on the war-room page; the
 * live page ticks in the shared document directly. Appears in the timeline.
 */
export async function tickStep(
	ctx: AppContext,
	actor: Actor,
	input: { incident: IncidentRef; playbookId: string; stepId: string; done: boolean }
): Promise<Result<{ state: 'open' | 'done' }>> {
	const { incident } = input;
	const denied = denyIncident(actor, incident, 'tick_checklist');
	if (denied) return err(denied);
	const found = await runAndStep(ctx, incident.id, input.playbookId, input.stepId);
	if (!found.ok) return found;
	if (!ctx.collab) return err({ code: 'unavailable', message: 'The live incident document is not available in this process' });
	await ensureChecklist(ctx, { incident });
	const key = checklistKey(input.playbookId, input.stepId);
	const at = ctx.now().toISOString();
	await ctx.collab.transact(incident.id, (doc) =>
		setFields(
			doc,
			key,
			input.done
				? { state: 'done', doneBy: actor.userId, doneByName: actor.displayName, doneAt: at, skipReason: null }
				: { state: 'open', doneBy: null, doneByName: null, doneAt: null, skipReason: null }
		)
	);
	const { step, run } = found.value;
	await afterCommit('tick step', incident.id, () =>
		ctx.collab!.appendSystemEntry(incident.id, {
			kind: 'playbook',
			text: input.done
				? {
						'zh-CN': `${actor.displayName} 完成步骤「${step.title['zh-CN']}」（${run.playbook.title['zh-CN']}）`,
						en: `${actor.displayName} completed "${step.title.en}" (${run.playbook.title.en})`
					}
				: {
						'zh-CN': `${actor.displayName} 重新打开步骤「${step.title['zh-CN']}」（${run.playbook.title['zh-CN']}）`,
						en: `${actor.displayName} reopened "${step.title.en}" (${run.playbook.title.en})`
					}
		})
	);
	return ok({ state: input.done ? 'done' : 'open' });
}

export interface DeviationInput {
	incident: IncidentRef;
	playbookId: string;
	stepId: string;
	reason: string;
	/** `skipped` (default): the step is skipped now. `late`: explains why a step was done late. */
	kind?: 'skipped' | 'late';
}

/**
 * Skips a step, or explains a late one. Skipping a mandatory step needs a reason and is recorded as
 * a deviation (row + audit event), shown later in the review; skipping an optional step is what the
 * plan allows, so it only marks the item (the reason, if any, is kept on it). A late explanation
 * always needs a reason and is always a deviation. Every case appears in the timeline.
 */
export async function recordDeviation(
	ctx: AppContext,
	actor: Actor,
	input: DeviationInput
): Promise<Result<{ deviationId: string | null }>> {
	const { incident } = input;
	const kind = input.kind ?? 'skipped';
	const denied = denyIncident(actor, incident, 'tick_checklist');
	if (denied) return err(denied);
	const found = await runAndStep(ctx, incident.id, input.playbookId, input.stepId);
	if (!found.ok) return found;
	const { step, run } = found.value;
	const reason = (typeof input.reason === 'string' ? input.reason : '').trim();
	if (reason.length > MAX_REASON_CHARS)
		return err({
			code: 'too_long',
			message: `reason must be at most ${MAX_REASON_CHARS} characters`,
			field: 'reason',
			params: { max: MAX_REASON_CHARS }
		});
	if (reason === '' && (kind === 'late' || step.mandatory))
		return err({
			code: 'reason_required',
			message: kind === 'late' ? 'Say why the step was late' : `"${step.title.en}" is mandatory: skipping it needs a reason`,
			field: 'reason'
		});

	const key = checklistKey(input.playbookId, input.stepId);
	if (kind === 'skipped') {
		if (!ctx.collab) return err({ code: 'unavailable', message: 'The live incident document is not available in this process' });
		await ensureChecklist(ctx, { incident });
		const item = await readItem(ctx, incident.id, key);
		if (item && item.state !== 'open')
			return err({ code: 'conflict', message: `"${step.title.en}" is already ${item.state}; reopen it first`, field: 'stepId' });
	}

	const at = ctx.now();
	const isDeviation = kind === 'late' || step.mandatory;
	const deviationId = isDeviation ? crypto.randomUUID() : null;
	if (deviationId) {
		await ctx.db.transaction().execute(async (trx) => {
			await repo.insertDeviation(trx, {
				id: deviationId,
				incident_id: incident.id,
				playbook_id: input.playbookId,
				step_id: input.stepId,
				kind,
				reason,
				recorded_by: actor.userId,
				recorded_at: at
			});
			await audit.record(trx, {
				actorId: actor.userId,
				action: 'incident.playbook_deviation',
				subjectType: 'incident',
				subjectId: incident.id,
				after: { deviationId, playbookId: input.playbookId, versionId: run.versionId, stepId: input.stepId, kind, reason },
				at
			});
		});
	}
	if (kind === 'skipped') {
		await ctx.collab!.transact(incident.id, (doc) =>
			setFields(doc, key, {
				state: 'skipped',
				doneBy: actor.userId,
				doneByName: actor.displayName,
				doneAt: at.toISOString(),
				skipReason: reason || null
			})
		);
	}
	const because = reason ? { zh: `，原因：${reason}`, en: `; reason: ${reason}` } : { zh: '', en: '' };
	const text =
		kind === 'late'
			? {
					'zh-CN': `${actor.displayName} 说明步骤「${step.title['zh-CN']}」超时${because.zh}`,
					en: `${actor.displayName} explained the late step "${step.title.en}"${because.en}`
				}
			: {
					'zh-CN': `${actor.displayName} 跳过${step.mandatory ? '必做' : ''}步骤「${step.title['zh-CN']}」（${run.playbook.title['zh-CN']}）${because.zh}`,
					en: `${actor.displayName} skipped the ${step.mandatory ? 'mandatory ' : ''}step "${step.title.en}" (${run.playbook.title.en})${because.en}`
				};
	await afterCommit('record deviation', incident.id, async () => {
		await ctx.collab?.appendSystemEntry(incident.id, { kind: 'playbook', text, at });
	});
	return ok({ deviationId });
}

export interface DeviationView {
	id: string;
	playbookId: string;
	stepId: string;
	kind: 'skipped' | 'late';
	reason: string;
	recordedBy: string | null;
	recordedAt: Date;
}

/** An incident's deviations from its playbooks, oldest first (the review lists them). */
export async function listDeviations(ctx: AppContext, actor: Actor, input: { incident: IncidentRef }): Promise<Result<DeviationView[]>> {
	const denied = denyIncident(actor, input.incident, 'view_incident');
	if (denied) return err(denied);
	const rows = await repo.deviations(ctx.db, input.incident.id);
	return ok(
		rows.map((r) => ({
			id: r.id,
			playbookId: r.playbook_id,
			stepId: r.step_id,
			kind: r.kind,
			reason: r.reason,
			recordedBy: r.recorded_by,
			recordedAt: r.recorded_at
		}))
	);
}
