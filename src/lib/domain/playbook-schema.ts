/**
 * The contingency-playbook (应急预案) format and its parser. Pure: it takes the file's text and path
 * and returns either a `Playbook` or every problem found, each with the 1-based line and column of
 * the offending YAML node, so `npm run playbooks:check` and the start-up loader can point an author
 * at the exact spot. playbooks/README.md documents the format for authors; keep the two in step.
 *
 * Why walk the YAML AST instead of `toJS()` + a schema library: the positions live on the AST
 * nodes, and a plain object has lost them. Walking also lets us reject what we do not want in a
 * document that must be reviewable line by line (aliases, non-string keys, unknown fields).
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { PRIORITIES, type Priority } from './priority';
import { INCIDENT_ROLES, type IncidentRole } from './roles';
import { PLAYBOOK_PLACEHOLDERS, scanTemplate } from './playbook-template';

// ---------------------------------------------------------------------------------------------
// The format
// ---------------------------------------------------------------------------------------------

/** Every prose field is written in both languages; neither may be blank. */
export const PLAYBOOK_LOCALES = ['zh-CN', 'en'] as const;
export type PlaybookLocale = (typeof PLAYBOOK_LOCALES)[number];
export type LocalisedText = Record<PlaybookLocale, string>;

/** Failure scenarios, one per kind of contingency plan an operations centre keeps. */
export const PLAYBOOK_CATEGORIES = [
	'database', // 数据库
	'middleware', // 中间件 / 应用服务器
	'network', // 网络与安全设备、运营商线路
	'datacentre', // 机房基础设施: 供电、制冷
	'storage', // 主机与存储
	'payment', // 支付通道
	'security', // 安全事件
	'application' // 应用系统 / 对客渠道
] as const;
export type PlaybookCategory = (typeof PLAYBOOK_CATEGORIES)[number];

/**
 * What a step's time target counts from: the declaration of the incident (the moment the response
 * group is formed and the playbook starts), or the start of the step's phase (when the phase
 * begins depends on the incident, e.g. recovery after a failover decision).
 */
export const TIME_TARGET_ORIGINS = ['declaration', 'phase_start'] as const;
export type TimeTargetOrigin = (typeof TIME_TARGET_ORIGINS)[number];

/** A week: any longer and it is not a time target for an urgent incident, it is a typo. */
export const MAX_TIME_TARGET_MINUTES = 7 * 24 * 60;

export const COMMUNICATION_KINDS = ['internal_update', 'head_office_report', 'customer_notice'] as const;
export type CommunicationKind = (typeof COMMUNICATION_KINDS)[number];

/** Who an escalation rule reports to. `head_office` (集团/总部) when a rule does not say. */
export const REPORT_RECIPIENTS = ['head_office', 'regulator', 'public_security', 'executives'] as const;
export type ReportRecipient = (typeof REPORT_RECIPIENTS)[number];

/** `next` of a decision option: a step id in the playbook, or one of these. */
export const DECISION_KEYWORDS = ['continue', 'exit'] as const;

export interface PlaybookContact {
	/** The incident role that makes the contact. */
	role: IncidentRole;
	/** Who is contacted, by function, never a personal number: the org's contact list (通讯录) has those. */
	party: LocalisedText;
}

export interface PlaybookStep {
	/** Unique across the whole playbook; kebab-case. */
	id: string;
	title: LocalisedText;
	owner: IncidentRole;
	timeTargetMinutes: number;
	timeTargetFrom: TimeTargetOrigin;
	mandatory: boolean;
	details?: LocalisedText;
	/** Shell, SQL or device commands, verbatim; not translated. */
	commands: string[];
	checks: LocalisedText[];
	contacts: PlaybookContact[];
}

export interface PlaybookPhase {
	id: string;
	title: LocalisedText;
	steps: PlaybookStep[];
}

export interface DecisionOption {
	label: LocalisedText;
	/** A step id in this playbook, `continue` (the step after `afterStep`) or `exit` (exit criteria). */
	next: string;
}

export interface DecisionPoint {
	id: string;
	/** The step after which the decision is taken. */
	afterStep: string;
	question: LocalisedText;
	options: DecisionOption[];
}

export interface CommunicationTemplate {
	kind: CommunicationKind;
	subject?: LocalisedText;
	body: LocalisedText;
}

export interface EscalationCondition {
	/** Matches when the incident's priority is one of these. */
	priority?: Priority[];
	/** Matches when the incident does (true) or does not (false) span several regions/provinces. */
	multiRegion?: boolean;
}

export interface EscalationRule {
	/** All conditions given must hold. */
	when: EscalationCondition;
	reportTo: ReportRecipient[];
	/** First report due this many minutes after declaration. */
	reportWithinMinutes: number;
	/** Then an update at least this often until resolved. */
	updateEveryMinutes: number;
	text: LocalisedText;
}

export interface Playbook {
	id: string;
	/** A positive integer, raised whenever the content changes; an incident records the version it ran. */
	version: number;
	category: PlaybookCategory;
	title: LocalisedText;
	summary: LocalisedText;
	/** Business service codes (CORE-BANKING, PAYMENTS, …) the playbook applies to. */
	services: string[];
	tags: string[];
	suggestedPriority: Priority;
	/** Visible only to people cleared for it (e.g. security incidents). */
	restricted: boolean;
	/** Incident roles the response group needs; every owner and contact role must be listed here. */
	roles: IncidentRole[];
	phases: PlaybookPhase[];
	decisionPoints: DecisionPoint[];
	communications: CommunicationTemplate[];
	escalation: EscalationRule[];
	exitCriteria: LocalisedText[];
}

export type PlaybookIssueCode =
	| 'yaml_syntax'
	| 'duplicate_key'
	| 'missing_field'
	| 'unknown_field'
	| 'invalid_type'
	| 'invalid_value'
	| 'unknown_role'
	| 'undeclared_role'
	| 'duplicate_step_id'
	| 'duplicate_id'
	| 'duplicate_value'
	| 'unknown_step'
	| 'invalid_time_target'
	| 'unknown_placeholder'
	| 'duplicate_playbook_id';

export interface PlaybookIssue {
	/** The file, as given to the parser. */
	path: string;
	/** 1-based. */
	line: number;
	/** 1-based, in UTF-16 code units like editors count. */
	column: number;
	code: PlaybookIssueCode;
	/** Clear English naming the field path, e.g. `phases[1].steps[0].owner …`. */
	message: string;
	/** The field path the issue concerns (`''` for the document or the YAML syntax). */
	field: string;
}

export type PlaybookParseResult = { ok: true; value: Playbook } | { ok: false; errors: PlaybookIssue[] };

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_ID_LENGTH = 64;
const SERVICE_CODE = /^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*$/;

/**
 * Returned by a decoder in place of a value it could not read. The issue is already recorded, and
 * `parsePlaybook` discards the whole value whenever there is an issue, so this never escapes; typing
 * it `never` keeps the decoders free of `| undefined` noise.
 */
const DISCARDED = undefined as never;

interface Ctx {
	path: string;
	text: string;
	lineCounter: LineCounter;
	issues: PlaybookIssue[];
}

type Decoder<T> = (c: Ctx, node: unknown, field: string) => T;

function offsetOf(node: unknown): number {
	const range = (node as { range?: [number, number, number] } | null)?.range;
	return range ? range[0] : 0;
}

function report(c: Ctx, offset: number, field: string, code: PlaybookIssueCode, message: string): void {
	const { line, col } = c.lineCounter.linePos(offset);
	c.issues.push({ path: c.path, line, column: col, code, message, field });
}

function truncate(s: string, max = 40): string {
	return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** How a node reads in "(got …)": scalars as written, collections by kind. */
function got(c: Ctx, node: unknown): string {
	if (node === null || node === undefined) return 'nothing';
	if (isMap(node)) return 'a mapping';
	if (isSeq(node)) return 'a list';
	if (isAlias(node)) return 'an alias';
	if (isScalar(node)) {
		if (node.value === null || node.value === undefined) return 'nothing';
		if (typeof node.value === 'string') return JSON.stringify(truncate(node.value));
		const [start, end] = node.range ?? [0, 0];
		return truncate(c.text.slice(start, end).trim() || String(node.value));
	}
	return 'an unexpected value';
}

function isEmptyNode(node: unknown): boolean {
	return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function editDistance(a: string, b: string): number {
	const row = Array.from({ length: b.length + 1 }, (_, j) => j);
	for (let i = 1; i <= a.length; i++) {
		let diagonal = row[0] ?? 0;
		row[0] = i;
		for (let j = 1; j <= b.length; j++) {
			const above = row[j] ?? 0;
			const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
			row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + cost);
			diagonal = above;
		}
	}
	return row[b.length] ?? 0;
}

/** " (did you mean x?)" when one candidate is close enough to be a likely typo. */
function didYouMean(value: string, candidates: readonly string[]): string {
	let best: string | undefined;
	let bestDistance = Infinity;
	for (const candidate of candidates) {
		const d = editDistance(value, candidate);
		const prefix = candidate.toLowerCase().startsWith(value.toLowerCase()) && value.length >= 4;
		const distance = prefix ? 1 : d;
		if (distance < bestDistance) {
			best = candidate;
			bestDistance = distance;
		}
	}
	// Short values (P0, dba) are rarely typos of anything; long ones may be a letter or two off.
	const threshold = value.length <= 3 ? 0 : Math.max(2, Math.floor(value.length / 6));
	return best !== undefined && bestDistance <= threshold ? ` (did you mean ${best}?)` : '';
}

function join(field: string, key: string): string {
	return field === '' ? key : `${field}.${key}`;
}

/** Rejects aliases up front so no decoder has to think about them. */
function checkAlias(c: Ctx, node: unknown, field: string): boolean {
	if (!isAlias(node)) return true;
	report(
		c,
		offsetOf(node),
		field,
		'invalid_value',
		`${field} is an alias (*${node.source}); aliases are not supported in playbooks, write the value out`
	);
	return false;
}

// -- mappings -------------------------------------------------------------------------------

interface Entry {
	keyOffset: number;
	value: unknown;
}

/** A YAML mapping whose keys have been checked against the fields the format allows. */
class Fields {
	readonly offset: number;
	private readonly entries = new Map<string, Entry>();

	constructor(
		private readonly c: Ctx,
		map: YAMLMap,
		readonly field: string,
		allowed: readonly string[]
	) {
		this.offset = offsetOf(map);
		for (const pair of map.items) {
			const key = pair.key;
			if (!isScalar(key) || typeof key.value !== 'string') {
				report(
					c,
					offsetOf(key ?? map),
					field,
					'invalid_type',
					`${field || 'the document'} has a key that is not a plain string (got ${got(c, key)})`
				);
				continue;
			}
			const name = key.value;
			if (!allowed.includes(name)) {
				report(
					c,
					offsetOf(key),
					join(field, name),
					'unknown_field',
					`${join(field, name)} is not a known field${didYouMean(name, allowed)}`
				);
				continue;
			}
			this.entries.set(name, { keyOffset: offsetOf(key), value: pair.value });
		}
	}

	has(key: string): boolean {
		const entry = this.entries.get(key);
		return entry !== undefined && !isEmptyNode(entry.value);
	}

	node(key: string): unknown {
		return this.entries.get(key)?.value;
	}

	/** A required field: reported at the parent mapping when absent, at the key when empty. */
	req<T>(key: string, decode: Decoder<T>): T {
		const field = join(this.field, key);
		const entry = this.entries.get(key);
		if (entry === undefined) {
			report(this.c, this.offset, field, 'missing_field', `${field} is required`);
			return DISCARDED;
		}
		if (isEmptyNode(entry.value)) {
			report(this.c, entry.keyOffset, field, 'missing_field', `${field} is required (the value is empty)`);
			return DISCARDED;
		}
		if (!checkAlias(this.c, entry.value, field)) return DISCARDED;
		return decode(this.c, entry.value, field);
	}

	/** An optional field: absent or empty reads as `undefined`. */
	opt<T>(key: string, decode: Decoder<T>): T | undefined {
		const entry = this.entries.get(key);
		if (entry === undefined || isEmptyNode(entry.value)) return undefined;
		const field = join(this.field, key);
		if (!checkAlias(this.c, entry.value, field)) return DISCARDED;
		return decode(this.c, entry.value, field);
	}
}

function fields(c: Ctx, node: unknown, field: string, allowed: readonly string[], what: string): Fields | undefined {
	if (!isMap(node)) {
		report(c, offsetOf(node), field, 'invalid_type', `${field || 'the document'} must be a mapping${what} (got ${got(c, node)})`);
		return undefined;
	}
	return new Fields(c, node, field, allowed);
}

// -- scalars ----------------------------------------------------------------------------------

function string(c: Ctx, node: unknown, field: string): string {
	if (!isScalar(node) || typeof node.value !== 'string') {
		report(c, offsetOf(node), field, 'invalid_type', `${field} must be a string (got ${got(c, node)})`);
		return DISCARDED;
	}
	if (node.value.trim() === '') {
		report(c, offsetOf(node), field, 'invalid_value', `${field} must not be empty`);
		return DISCARDED;
	}
	return node.value;
}

function kebabId(c: Ctx, node: unknown, field: string): string {
	const value = string(c, node, field);
	if (value === undefined) return DISCARDED;
	if (!KEBAB.test(value) || value.length > MAX_ID_LENGTH) {
		report(
			c,
			offsetOf(node),
			field,
			'invalid_value',
			`${field} must be kebab-case (lower-case letters and digits joined by single hyphens, at most ${MAX_ID_LENGTH} characters) (got ${got(c, node)})`
		);
		return DISCARDED;
	}
	return value;
}

function boolean(c: Ctx, node: unknown, field: string): boolean {
	if (!isScalar(node) || typeof node.value !== 'boolean') {
		report(c, offsetOf(node), field, 'invalid_type', `${field} must be true or false (got ${got(c, node)})`);
		return DISCARDED;
	}
	return node.value;
}

function oneOf<T extends string>(options: readonly T[], code: PlaybookIssueCode = 'invalid_value', noun = 'one of'): Decoder<T> {
	return (c, node, field) => {
		const value = isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
		if (value === undefined || !options.includes(value as T)) {
			const hint = value === undefined ? '' : didYouMean(value, options);
			report(
				c,
				offsetOf(node),
				field,
				value === undefined ? 'invalid_type' : code,
				`${field} must be ${noun} ${options.join(', ')} (got ${got(c, node)})${hint}`
			);
			return DISCARDED;
		}
		return value as T;
	};
}

const incidentRole = oneOf(INCIDENT_ROLES, 'unknown_role', 'an incident role:');

function positiveInteger(c: Ctx, node: unknown, field: string): number {
	if (!isScalar(node) || typeof node.value !== 'number') {
		report(c, offsetOf(node), field, 'invalid_type', `${field} must be a positive integer (got ${got(c, node)})`);
		return DISCARDED;
	}
	if (!Number.isSafeInteger(node.value) || node.value < 1) {
		report(c, offsetOf(node), field, 'invalid_value', `${field} must be a positive integer (got ${got(c, node)})`);
		return DISCARDED;
	}
	return node.value;
}

function timeTarget(c: Ctx, node: unknown, field: string): number {
	const value = isScalar(node) ? node.value : undefined;
	if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
		report(c, offsetOf(node), field, 'invalid_time_target', `${field} must be a non-negative integer (got ${got(c, node)})`);
		return DISCARDED;
	}
	if (value > MAX_TIME_TARGET_MINUTES) {
		report(
			c,
			offsetOf(node),
			field,
			'invalid_time_target',
			`${field} must be at most ${MAX_TIME_TARGET_MINUTES} minutes (7 days) (got ${value})`
		);
		return DISCARDED;
	}
	return value;
}

/**
 * A command, verbatim. In a plain (unquoted) YAML scalar " #" starts a comment, so
 * `grep -c ERR app.log # count` silently loses everything from the "#": when a command has a
 * trailing comment we cannot tell a note from a truncated command, so the author must decide.
 */
function command(c: Ctx, node: unknown, field: string): string {
	const value = string(c, node, field);
	if (value === undefined) return DISCARDED;
	if (isScalar(node) && node.type === 'PLAIN' && node.comment) {
		report(
			c,
			offsetOf(node),
			field,
			'invalid_value',
			`${field} is followed by a # comment on the same line, which YAML drops from the command; quote the command if the # belongs to it, or put the note in details`
		);
		return DISCARDED;
	}
	return value;
}

function serviceCode(c: Ctx, node: unknown, field: string): string {
	const value = string(c, node, field);
	if (value === undefined) return DISCARDED;
	if (!SERVICE_CODE.test(value)) {
		report(
			c,
			offsetOf(node),
			field,
			'invalid_value',
			`${field} must be a business service code in upper case, e.g. CORE-BANKING (got ${got(c, node)})`
		);
		return DISCARDED;
	}
	return value;
}

function tag(c: Ctx, node: unknown, field: string): string {
	const value = string(c, node, field);
	if (value === undefined) return DISCARDED;
	if (!KEBAB.test(value)) {
		report(c, offsetOf(node), field, 'invalid_value', `${field} must be a lower-case kebab-case tag (got ${got(c, node)})`);
		return DISCARDED;
	}
	return value;
}

function localised(c: Ctx, node: unknown, field: string): LocalisedText {
	const f = fields(c, node, field, PLAYBOOK_LOCALES, ' with zh-CN and en');
	if (!f) return DISCARDED;
	return { 'zh-CN': f.req('zh-CN', string), en: f.req('en', string) };
}

// -- lists ------------------------------------------------------------------------------------

interface ListOptions {
	nonEmpty?: boolean;
	/** Report a value that appears twice (compared as written). */
	unique?: boolean;
}

function list<T>(item: Decoder<T>, options: ListOptions = {}): Decoder<T[]> {
	return (c, node, field) => {
		if (!isSeq(node)) {
			report(c, offsetOf(node), field, 'invalid_type', `${field} must be a list (got ${got(c, node)})`);
			return DISCARDED;
		}
		if (options.nonEmpty && node.items.length === 0) {
			report(c, offsetOf(node), field, 'invalid_value', `${field} must not be empty`);
			return DISCARDED;
		}
		const seen = new Map<unknown, number>();
		return node.items.map((child, i) => {
			const childField = `${field}[${i}]`;
			if (isEmptyNode(child)) {
				report(c, offsetOf(child), childField, 'missing_field', `${childField} is empty`);
				return DISCARDED;
			}
			if (!checkAlias(c, child, childField)) return DISCARDED;
			const value = item(c, child, childField);
			if (options.unique && value !== undefined) {
				const first = seen.get(value);
				if (first !== undefined) {
					report(c, offsetOf(child), childField, 'duplicate_value', `${childField} repeats ${got(c, child)} (already ${field}[${first}])`);
				} else {
					seen.set(value, i);
				}
			}
			return value;
		});
	};
}

// -- the playbook -----------------------------------------------------------------------------

const TOP_FIELDS = [
	'id',
	'version',
	'category',
	'title',
	'summary',
	'services',
	'tags',
	'suggestedPriority',
	'restricted',
	'roles',
	'phases',
	'decisionPoints',
	'communications',
	'escalation',
	'exitCriteria'
] as const;
const PHASE_FIELDS = ['id', 'title', 'steps'] as const;
const STEP_FIELDS = [
	'id',
	'title',
	'owner',
	'timeTargetMinutes',
	'timeTargetFrom',
	'mandatory',
	'details',
	'commands',
	'checks',
	'contacts'
] as const;
const CONTACT_FIELDS = ['role', 'party'] as const;
const DECISION_FIELDS = ['id', 'afterStep', 'question', 'options'] as const;
const OPTION_FIELDS = ['label', 'next'] as const;
const COMMUNICATION_FIELDS = ['kind', 'subject', 'body'] as const;
const ESCALATION_FIELDS = ['when', 'reportTo', 'reportWithinMinutes', 'updateEveryMinutes', 'text'] as const;
const CONDITION_FIELDS = ['priority', 'multiRegion'] as const;

/** Fields whose string values are templates and may contain placeholders. */
function template(c: Ctx, node: unknown, field: string): LocalisedText {
	const text = localised(c, node, field);
	if (text === undefined || !isMap(node)) return text;
	for (const pair of node.items) {
		const locale = isScalar(pair.key) ? pair.key.value : undefined;
		const value = pair.value;
		if (typeof locale !== 'string' || !isScalar(value) || typeof value.value !== 'string') continue;
		checkPlaceholders(c, value, value.value, join(field, locale));
	}
	return text;
}

/** Every index where "{{" starts, overlapping ones included ("{{{" has two). */
function braceOpenings(text: string): number[] {
	const at: number[] = [];
	for (let i = text.indexOf('{{'); i >= 0; i = text.indexOf('{{', i + 1)) at.push(i);
	return at;
}

function checkPlaceholders(c: Ctx, node: { range?: [number, number, number] | null }, value: string, field: string): void {
	const { problems } = scanTemplate(value);
	if (problems.length === 0) return;
	const [start, end] = node.range ?? [0, 0];
	const source = c.text.slice(start, end);
	const sourceOpenings = braceOpenings(source);
	const valueOpenings = braceOpenings(value);
	for (const problem of problems) {
		// The n-th "{{" of the value is the n-th "{{" of the source unless escapes produced braces,
		// so point at the placeholder itself when the counts agree, else at the start of the string.
		const n = valueOpenings.indexOf(problem.index);
		const at = valueOpenings.length === sourceOpenings.length ? sourceOpenings[n] : undefined;
		const offset = at === undefined ? start : start + at;
		if (problem.kind === 'unknown_placeholder') {
			const hint = didYouMean(problem.name, PLAYBOOK_PLACEHOLDERS) || '; see playbooks/README.md for the list';
			report(c, offset, field, 'unknown_placeholder', `${field} uses unknown placeholder {{${problem.name}}}${hint}`);
		} else {
			report(c, offset, field, 'unknown_placeholder', `${field} has a "{{" that is not closed with "}}"`);
		}
	}
}

interface IdSite {
	field: string;
}

/** Decodes the document; cross-references are checked as the pieces they depend on are read. */
function decodePlaybook(c: Ctx, root: unknown): Playbook {
	const top = fields(c, root, '', TOP_FIELDS, ' of playbook fields (id, version, title, …)');
	if (!top) return DISCARDED;

	const roles = top.req('roles', list(incidentRole, { nonEmpty: true, unique: true }));
	const declared = new Set<string>(Array.isArray(roles) ? roles : INCIDENT_ROLES);
	if (Array.isArray(roles) && roles.every((r) => r !== undefined) && !declared.has('incident_manager')) {
		report(c, offsetOf(top.node('roles')), 'roles', 'invalid_value', 'roles must include incident_manager (every response group has one)');
	}

	// A role used by a step or contact must be one of the playbook's roles, so the response group
	// formed from `roles` can own every step.
	const ownerRole: Decoder<IncidentRole> = (cc, node, field) => {
		const role = incidentRole(cc, node, field);
		if (role !== undefined && Array.isArray(roles) && !declared.has(role)) {
			report(cc, offsetOf(node), field, 'undeclared_role', `${field} "${role}" is not listed in roles`);
		}
		return role;
	};

	const stepIds = new Map<string, IdSite>();
	const phaseIds = new Map<string, IdSite>();

	const uniqueId =
		(registry: Map<string, IdSite>, code: PlaybookIssueCode, what: string): Decoder<string> =>
		(cc, node, field) => {
			const id = kebabId(cc, node, field);
			if (id === undefined) return id;
			if ((DECISION_KEYWORDS as readonly string[]).includes(id) && registry === stepIds) {
				report(cc, offsetOf(node), field, 'invalid_value', `${field} "${id}" is reserved for decision options; choose another step id`);
				return DISCARDED;
			}
			const first = registry.get(id);
			if (first) {
				report(
					cc,
					offsetOf(node),
					field,
					code,
					`${field} "${id}" is already used by ${first.field} (${what} ids must be unique in a playbook)`
				);
			} else {
				registry.set(id, { field });
			}
			return id;
		};

	const contact: Decoder<PlaybookContact> = (cc, node, field) => {
		const f = fields(cc, node, field, CONTACT_FIELDS, ' with role and party');
		if (!f) return DISCARDED;
		return { role: f.req('role', ownerRole), party: f.req('party', localised) };
	};

	const step: Decoder<PlaybookStep> = (cc, node, field) => {
		const f = fields(cc, node, field, STEP_FIELDS, ' (a step)');
		if (!f) return DISCARDED;
		const details = f.opt('details', localised);
		return {
			id: f.req('id', uniqueId(stepIds, 'duplicate_step_id', 'step')),
			title: f.req('title', localised),
			owner: f.req('owner', ownerRole),
			timeTargetMinutes: f.req('timeTargetMinutes', timeTarget),
			timeTargetFrom: f.req('timeTargetFrom', oneOf(TIME_TARGET_ORIGINS)),
			mandatory: f.req('mandatory', boolean),
			...(details === undefined ? {} : { details }),
			commands: f.opt('commands', list(command)) ?? [],
			checks: f.opt('checks', list(localised)) ?? [],
			contacts: f.opt('contacts', list(contact)) ?? []
		};
	};

	const phase: Decoder<PlaybookPhase> = (cc, node, field) => {
		const f = fields(cc, node, field, PHASE_FIELDS, ' (a phase)');
		if (!f) return DISCARDED;
		return {
			id: f.req('id', uniqueId(phaseIds, 'duplicate_id', 'phase')),
			title: f.req('title', localised),
			steps: f.req('steps', list(step, { nonEmpty: true }))
		};
	};

	const stepRef =
		(allowKeywords: boolean): Decoder<string> =>
		(cc, node, field) => {
			const ref = string(cc, node, field);
			if (ref === undefined) return ref;
			if (allowKeywords && (DECISION_KEYWORDS as readonly string[]).includes(ref)) return ref;
			if (!stepIds.has(ref)) {
				const also = allowKeywords ? `, ${DECISION_KEYWORDS.join(' or ')}` : '';
				report(
					cc,
					offsetOf(node),
					field,
					'unknown_step',
					`${field} must be a step id in this playbook${also} (got ${got(cc, node)})${didYouMean(ref, [...stepIds.keys()])}`
				);
				return DISCARDED;
			}
			return ref;
		};

	const decisionIds = new Map<string, IdSite>();
	const option: Decoder<DecisionOption> = (cc, node, field) => {
		const f = fields(cc, node, field, OPTION_FIELDS, ' with label and next');
		if (!f) return DISCARDED;
		return { label: f.req('label', localised), next: f.req('next', stepRef(true)) };
	};
	const decision: Decoder<DecisionPoint> = (cc, node, field) => {
		const f = fields(cc, node, field, DECISION_FIELDS, ' (a decision point)');
		if (!f) return DISCARDED;
		const options = f.req('options', list(option, { nonEmpty: true }));
		if (Array.isArray(options) && options.length < 2) {
			report(
				cc,
				offsetOf(f.node('options')),
				join(field, 'options'),
				'invalid_value',
				`${join(field, 'options')} must offer at least two options`
			);
		}
		return {
			id: f.req('id', uniqueId(decisionIds, 'duplicate_id', 'decision point')),
			afterStep: f.req('afterStep', stepRef(false)),
			question: f.req('question', localised),
			options
		};
	};

	const communication: Decoder<CommunicationTemplate> = (cc, node, field) => {
		const f = fields(cc, node, field, COMMUNICATION_FIELDS, ' (a communication template)');
		if (!f) return DISCARDED;
		const subject = f.opt('subject', template);
		return {
			kind: f.req('kind', oneOf(COMMUNICATION_KINDS)),
			...(subject === undefined ? {} : { subject }),
			body: f.req('body', template)
		};
	};

	const condition: Decoder<EscalationCondition> = (cc, node, field) => {
		const f = fields(cc, node, field, CONDITION_FIELDS, ' with priority and/or multiRegion');
		if (!f) return DISCARDED;
		if (!f.has('priority') && !f.has('multiRegion')) {
			report(cc, f.offset, field, 'missing_field', `${field} must name at least one condition: priority or multiRegion`);
			return DISCARDED;
		}
		const priority = f.opt('priority', list(oneOf(PRIORITIES), { nonEmpty: true, unique: true }));
		const multiRegion = f.opt('multiRegion', boolean);
		return {
			...(priority === undefined ? {} : { priority }),
			...(multiRegion === undefined ? {} : { multiRegion })
		};
	};

	const escalationRule: Decoder<EscalationRule> = (cc, node, field) => {
		const f = fields(cc, node, field, ESCALATION_FIELDS, ' (an escalation rule)');
		if (!f) return DISCARDED;
		return {
			when: f.req('when', condition),
			reportTo: f.opt('reportTo', list(oneOf(REPORT_RECIPIENTS), { nonEmpty: true, unique: true })) ?? ['head_office'],
			reportWithinMinutes: f.req('reportWithinMinutes', positiveInteger),
			updateEveryMinutes: f.req('updateEveryMinutes', positiveInteger),
			text: f.req('text', localised)
		};
	};

	// Order matters only for cross-references: roles before phases, phases before decision points.
	const playbook: Playbook = {
		id: top.req('id', kebabId),
		version: top.req('version', positiveInteger),
		category: top.req('category', oneOf(PLAYBOOK_CATEGORIES)),
		title: top.req('title', localised),
		summary: top.req('summary', localised),
		services: top.req('services', list(serviceCode, { nonEmpty: true, unique: true })),
		tags: top.opt('tags', list(tag, { unique: true })) ?? [],
		suggestedPriority: top.req('suggestedPriority', oneOf(PRIORITIES)),
		restricted: top.req('restricted', boolean),
		roles,
		phases: top.req('phases', list(phase, { nonEmpty: true })),
		decisionPoints: [],
		communications: top.req('communications', list(communication, { nonEmpty: true })),
		escalation: top.req('escalation', list(escalationRule, { nonEmpty: true })),
		exitCriteria: top.req('exitCriteria', list(localised, { nonEmpty: true }))
	};
	playbook.decisionPoints = top.opt('decisionPoints', list(decision)) ?? [];

	// One template per kind, so "the head-office report of this playbook" is unambiguous.
	const kinds = top.node('communications');
	if (isSeq(kinds)) {
		const seen = new Map<string, number>();
		kinds.items.forEach((item, i) => {
			if (!isMap(item)) return;
			const kindNode = item.get('kind', true);
			if (!isScalar(kindNode) || typeof kindNode.value !== 'string') return;
			const first = seen.get(kindNode.value);
			const field = `communications[${i}].kind`;
			if (first !== undefined) {
				report(
					c,
					offsetOf(kindNode),
					field,
					'duplicate_value',
					`${field} "${kindNode.value}" is already used by communications[${first}] (one template per kind)`
				);
			} else {
				seen.set(kindNode.value, i);
			}
		});
	}
	return playbook;
}

function yamlIssue(c: Ctx, error: { code: string; message: string; pos: [number, number] }): void {
	if (error.code === 'DUPLICATE_KEY') {
		const key = c.text.slice(error.pos[0]).split(/[:\n]/, 1)[0]?.trim() ?? '';
		report(c, error.pos[0], '', 'duplicate_key', `key ${JSON.stringify(key)} appears twice in the same mapping`);
		return;
	}
	if (error.code === 'MULTIPLE_DOCS') {
		report(c, error.pos[0], '', 'yaml_syntax', 'YAML syntax error: a playbook file holds one YAML document; remove the second "---"');
		return;
	}
	report(c, error.pos[0], '', 'yaml_syntax', `YAML syntax error: ${error.message}`);
}

function byPosition(a: PlaybookIssue, b: PlaybookIssue): number {
	return a.line - b.line || a.column - b.column;
}

/**
 * Parses one playbook file. On failure returns every issue found, sorted by position. A file with
 * YAML syntax errors reports only those: past a syntax error the structure cannot be trusted, and
 * guesses about missing fields would only bury the real problem.
 */
export function parsePlaybook(text: string, path: string): PlaybookParseResult {
	const parsed = parsePlaybookWithIdPosition(text, path);
	return parsed.result;
}

/** `parsePlaybook`, plus where the id was written (for the duplicate-id check across files). */
export function parsePlaybookWithIdPosition(text: string, path: string): { result: PlaybookParseResult; idLine: number; idColumn: number } {
	const lineCounter = new LineCounter();
	const c: Ctx = { path, text, lineCounter, issues: [] };
	const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2' });
	let idOffset = 0;
	if (doc.errors.length > 0) {
		for (const error of doc.errors) yamlIssue(c, error);
	} else {
		const root = doc.contents;
		if (isMap(root)) idOffset = offsetOf(root.get('id', true) ?? root);
		const value = decodePlaybook(c, root);
		if (c.issues.length === 0) {
			const { line, col } = lineCounter.linePos(idOffset);
			return { result: { ok: true, value }, idLine: line, idColumn: col };
		}
	}
	c.issues.sort(byPosition);
	const { line, col } = lineCounter.linePos(idOffset);
	return { result: { ok: false, errors: c.issues }, idLine: line, idColumn: col };
}
