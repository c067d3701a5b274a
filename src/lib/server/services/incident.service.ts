/**
 * Major incidents: propose, accept or reject, declare, change status / priority / details, and the
 * read paths (list, search, the war-room view, the collab socket's access). The response group lives
 * in membership.service.ts and shares the access helpers exported here.
 *
 * Every use case runs in the same order (DESIGN.md §3.4): access check (`whyNot`, and the token's
 * scopes), the pure domain function, the writes in one transaction together with their audit events,
 * then — after the commit — the bus event, the system entry on the incident's shared document and the
 * notifications. Expected failures are Result values: `forbidden`, `not_found`, `invalid` (with
 * `errors[]` per field), `illegal_transition`, `reason_required`, `review_required`, `conflict`.
 *
 * Restricted incidents are visible only to their members and admins on every read path. A caller who
 * may not view an incident gets `not_found`, never `forbidden`, so the answer does not reveal that a
 * restricted incident with that id exists.
 */
import type { Transaction } from 'kysely';
import incidentMessages from '../../i18n/messages/incidents';
import {
	allowedTransitions,
	formatIncidentNumber,
	INCIDENT_NUMBER_PATTERN,
	INCIDENT_STATUSES,
	incidentDayKey,
	openingStatus,
	parseIncidentStatus,
	transition,
	type IncidentStatus,
	type KeyTime,
	type OpeningMode
} from '../../domain/incident-status';
import { OPERATIONS, whyNot, type Operation } from '../../domain/permissions';
import { batchLoader } from '../db/batch';
import { NOBODY, type RoomAccess, type RoomPolicy } from '../collab/access';
import {
	parseImpact,
	parsePriority,
	parseUrgency,
	PRIORITIES,
	priorityFor,
	type Impact,
	type Priority,
	type Urgency
} from '../../domain/priority';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import type { IncidentRole } from '../../domain/roles';
import type { Actor, AppContext, SystemEntry, TimelineKind } from '../context';
import type { Database, IncidentMemberRow, IncidentRow, IncidentUpdate, ServiceRow } from '../db/schema';
import * as membersRepo from '../repositories/incident-members.repository';
import * as incidentsRepo from '../repositories/incidents.repository';
import * as reviewsRepo from '../repositories/reviews.repository';
import * as servicesRepo from '../repositories/services.repository';
import * as usersRepo from '../repositories/users.repository';
import * as audit from './audit.service';
import type { ValidationFailure } from './users.service';
import { isError, text } from './validate';

// ---------------------------------------------------------------------------------------------
// Limits and constants
// ---------------------------------------------------------------------------------------------

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HAS_CONTROL = /[\u0000-\u001f\u007f]/;
export const TITLE_MAX_CHARS = 200;
export const DESCRIPTION_MAX_CHARS = 20_000;
export const REASON_MAX_CHARS = 2_000;
export const DEDUPE_KEY_MAX_CHARS = 200;
export const SEARCH_MAX_CHARS = 200;
export const SERVICES_MAX = 50;
export const LIST_DEFAULT_LIMIT = 100;
export const LIST_MAX_LIMIT = 500;
/** A detection time this far ahead of our clock is a typo or a wrong time zone, not clock skew. */
export const DETECTED_AT_MAX_FUTURE_MS = 5 * 60_000;

export const INCIDENT_SOURCES = ['monitoring', 'phone', 'web', 'api'] as const;
export type IncidentSource = (typeof INCIDENT_SOURCES)[number];

/** Statuses a new alert with the same dedupe key is merged into (mirrors the partial unique index). */
export const OPEN_STATUSES = incidentsRepo.DEDUPE_STATUSES;

export const API_SCOPES = ['incidents:read', 'incidents:write'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Operations a read-only token may perform; everything else needs `incidents:write`. */
const READ_OPERATIONS: readonly Operation[] = ['view_incident', 'export_incident', 'view_board'];

export function scopeFor(op: Operation): ApiScope {
	return READ_OPERATIONS.includes(op) ? 'incidents:read' : 'incidents:write';
}

// ---------------------------------------------------------------------------------------------
// Access
// ---------------------------------------------------------------------------------------------

function forbidden(message: string, params: Record<string, string> = {}): DomainError {
	return { code: 'forbidden', message, params };
}

export function notFound(): DomainError {
	return { code: 'not_found', message: 'No such incident, or you do not have access to it' };
}

function conflict(message: string): DomainError {
	return { code: 'conflict', message };
}

/**
 * Why `actor` may not perform `operation` on `incident` (null when allowed). The system actor (jobs,
 * the CLI, demo data) may do anything except acknowledge a page, which only the paged person can.
 */
export function denial(
	actor: Actor,
	opts: { operation: Operation; incident?: Pick<IncidentRow, 'restricted'>; member?: Pick<IncidentMemberRow, 'role'> }
): DomainError | null {
	const { operation } = opts;
	if (actor.scopes && !actor.scopes.includes(scopeFor(operation)))
		return forbidden(`This API token lacks the ${scopeFor(operation)} scope`, { operation, reason: 'scope' });
	if (actor.kind === 'system' || actor.globalRole === 'system') {
		return operation === 'acknowledge_page'
			? forbidden('Only the paged person can acknowledge a page', { operation, reason: 'not_member' })
			: null;
	}
	return whyNot({
		globalRole: actor.globalRole,
		incidentRole: (opts.member?.role as IncidentRole | undefined) ?? null,
		member: !!opts.member,
		restricted: opts.incident?.restricted ?? false,
		operation
	});
}

export function allowedOperations(
	actor: Actor,
	opts: { incident: Pick<IncidentRow, 'restricted'>; member?: Pick<IncidentMemberRow, 'role'> }
): Record<Operation, boolean> {
	const out = {} as Record<Operation, boolean>;
	for (const op of OPERATIONS) out[op] = denial(actor, { operation: op, ...opts }) === null;
	return out;
}

export interface Loaded {
	incident: IncidentRow;
	/** The actor's active membership, if any. */
	member: IncidentMemberRow | undefined;
}

/** An id or an `INC-…` number. */
async function findByRef(db: AppContext['db'], ref: string): Promise<IncidentRow | undefined> {
	if (INCIDENT_NUMBER_PATTERN.test(ref)) return incidentsRepo.findByNumber(db, ref);
	return incidentsRepo.findById(db, ref);
}

/**
 * Loads the incident for `actor` and checks `operation`. Not being allowed to view it reads as
 * `not_found`; being allowed to view but not to do `operation` is `forbidden`.
 */
export async function loadFor(
	ctx: AppContext,
	actor: Actor,
	/** Without `operation`, only visibility is checked (the caller decides the operation from the state). */
	opts: { ref: unknown; operation?: Operation }
): Promise<Result<Loaded>> {
	// PostgreSQL refuses NUL in text; an id or number never has control characters anyway.
	if (typeof opts.ref !== 'string' || opts.ref.length === 0 || opts.ref.length > 100 || HAS_CONTROL.test(opts.ref)) return err(notFound());
	const incident = await findByRef(ctx.db, opts.ref);
	if (!incident) return err(notFound());
	const member = actor.userId ? await membersRepo.findActive(ctx.db, { incidentId: incident.id, userId: actor.userId }) : undefined;
	// Visibility is about the person, not the token: a write-only token may still act on what its
	// user can see. A missing scope is then reported as such (forbidden), so the integrator knows why.
	const viewDenied = denial({ ...actor, scopes: undefined }, { operation: 'view_incident', incident, member });
	if (viewDenied) return err(notFound());
	if (opts.operation) {
		const denied = denial(actor, { operation: opts.operation, incident, member });
		if (denied) return err(denied);
	}
	return ok({ incident, member });
}

// ---------------------------------------------------------------------------------------------
// Text for the shared document and notifications (both languages, from the message catalogue)
// ---------------------------------------------------------------------------------------------

type MessageKey = keyof (typeof incidentMessages)['en'];
export type Bilingual = { 'zh-CN': string; en: string };

function fill(template: string, params: Record<string, string | number>): string {
	return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

/** A message in both languages; params that are message keys themselves are given as Bilingual. */
export function bilingual(key: MessageKey, params: Record<string, string | number | Bilingual> = {}): Bilingual {
	const pick = (locale: 'zh-CN' | 'en') => {
		const p: Record<string, string | number> = {};
		for (const [k, v] of Object.entries(params)) p[k] = typeof v === 'object' ? v[locale] : v;
		return fill(incidentMessages[locale][key], p);
	};
	return { 'zh-CN': pick('zh-CN'), en: pick('en') };
}

export function label(key: MessageKey): Bilingual {
	return { 'zh-CN': incidentMessages['zh-CN'][key], en: incidentMessages.en[key] };
}

export const statusLabel = (s: IncidentStatus) => label(`status.${s}` as MessageKey);
export const roleLabel = (r: IncidentRole) => label(`incidentRole.${r}` as MessageKey);

// ---------------------------------------------------------------------------------------------
// After-commit side effects
// ---------------------------------------------------------------------------------------------

/**
 * The shared document and notifications are conveniences on top of committed facts: a failure there
 * must not turn a committed change into an error for the caller, so it is logged and swallowed.
 */
export async function afterCommit(
	ctx: AppContext,
	opts: { incidentId: string; what: string; entry?: { kind: TimelineKind; text: Bilingual; pinned?: boolean }; board?: boolean }
): Promise<void> {
	ctx.events.publish({ type: 'incident.changed', incidentId: opts.incidentId, what: opts.what });
	if (opts.board !== false) ctx.events.publish({ type: 'board.changed', incidentId: opts.incidentId });
	if (opts.entry && ctx.collab) {
		const entry: SystemEntry = { kind: opts.entry.kind, text: opts.entry.text, at: ctx.now(), pinned: opts.entry.pinned };
		try {
			await ctx.collab.appendSystemEntry(opts.incidentId, entry);
		} catch (error) {
			process.stderr.write(
				JSON.stringify({
					level: 'error',
					msg: 'timeline entry failed',
					incidentId: opts.incidentId,
					what: opts.what,
					error: String(error)
				}) + '\n'
			);
		}
	}
}

export async function notify(ctx: AppContext, input: Parameters<NonNullable<AppContext['notify']>['send']>[0]): Promise<void> {
	// Even with nobody to tell in the app (a manager declaring alone): the outbound channels still get it.
	if (!ctx.notify) return;
	try {
		await ctx.notify.send(input);
	} catch (error) {
		process.stderr.write(JSON.stringify({ level: 'error', msg: 'notification failed', event: input.event, error: String(error) }) + '\n');
	}
}

async function activeMemberIds(ctx: AppContext, incidentId: string): Promise<string[]> {
	return (await membersRepo.listActive(ctx.db, [incidentId])).map((m) => m.user_id);
}

// ---------------------------------------------------------------------------------------------
// Input validation
// ---------------------------------------------------------------------------------------------

export interface IncidentInput {
	title?: unknown;
	description?: unknown;
	impact?: unknown;
	urgency?: unknown;
	/** Optional: when given it must agree with impact × urgency (priority is never set by hand). */
	priority?: unknown;
	/** Service ids or codes (an array, or a comma-separated string from a form). */
	services?: unknown;
	/** ISO 8601 with a time zone, or a Date; defaults to now. */
	detectedAt?: unknown;
	source?: unknown;
	drill?: unknown;
	restricted?: unknown;
	dedupeKey?: unknown;
}

function invalid(errors: DomainError[]): { ok: false; error: ValidationFailure } {
	return err({ code: 'invalid', message: errors.map((e) => e.message).join('; '), errors });
}

/** true/false, or a form's 'on'/'true'/'1'/'false'/'0'/''. */
export function flag(field: string, value: unknown): boolean | DomainError | undefined {
	if (value === undefined || value === null) return undefined;
	if (typeof value === 'boolean') return value;
	if (typeof value === 'string') {
		const v = value.trim().toLowerCase();
		if (['on', 'true', '1', 'yes'].includes(v)) return true;
		if (['off', 'false', '0', 'no', ''].includes(v)) return false;
	}
	return { code: 'invalid_value', message: `${field} must be true or false`, field };
}

function instant(field: string, value: unknown, now: Date): Date | DomainError | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	let d: Date | undefined;
	if (value instanceof Date) d = value;
	// A date and time with a zone (Z or ±hh:mm); a bare local time would be read in the server's
	// zone, which is exactly the ambiguity an ops centre across regions cannot afford.
	else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.test(value.trim()))
		d = new Date(value.trim());
	if (!d || Number.isNaN(d.getTime()))
		return {
			code: 'invalid_format',
			message: `${field} must be an ISO 8601 date-time with a time zone, e.g. 2026-11-22T08:30:00+08:00`,
			field
		};
	if (d.getTime() > now.getTime() + DETECTED_AT_MAX_FUTURE_MS) return { code: 'in_future', message: `${field} is in the future`, field };
	if (d.getUTCFullYear() < 2000) return { code: 'invalid_value', message: `${field} is implausibly early`, field };
	return d;
}

/** Resolves service ids or codes; each problem names its position, e.g. `services[1]`. */
async function resolveServices(ctx: AppContext, value: unknown, errors: DomainError[]): Promise<ServiceRow[] | undefined> {
	if (value === undefined || value === null) return undefined;
	const raw: unknown[] = Array.isArray(value)
		? value
		: typeof value === 'string'
			? value
					.split(',')
					.map((s) => s.trim())
					.filter(Boolean)
			: [value];
	if (!Array.isArray(value) && typeof value !== 'string') {
		errors.push({ code: 'invalid_type', message: 'services must be a list of service ids or codes', field: 'services' });
		return undefined;
	}
	if (raw.length > SERVICES_MAX) {
		errors.push({
			code: 'too_many',
			message: `services may list at most ${SERVICES_MAX} services`,
			field: 'services',
			params: { max: SERVICES_MAX }
		});
		return undefined;
	}
	const all = await servicesRepo.list(ctx.db);
	const out: ServiceRow[] = [];
	raw.forEach((ref, i) => {
		const field = `services[${i}]`;
		if (typeof ref !== 'string' || ref.trim() === '' || ref.length > 100) {
			errors.push({ code: 'invalid_type', message: `${field} must be a service id or code`, field });
			return;
		}
		const r = ref.trim();
		const service = all.find((s) => s.id === r || s.code === r.toUpperCase());
		if (!service)
			errors.push({ code: 'unknown_service', message: `${field}: no business service ${JSON.stringify(r)} in the catalogue`, field });
		else if (!out.some((s) => s.id === service.id)) out.push(service);
	});
	return out;
}

function textField(errors: DomainError[], field: string, value: unknown, opts: { required?: boolean; max: number; multiline?: boolean }) {
	const v = text(field, value, opts);
	if (isError(v)) {
		errors.push(v);
		return undefined;
	}
	return v;
}

interface ValidIncident {
	title: string;
	description: string;
	impact: Impact;
	urgency: Urgency;
	priority: Priority;
	services: ServiceRow[];
	detectedAt: Date;
	source: IncidentSource;
	drill: boolean;
	restricted: boolean;
	dedupeKey: string | null;
}

async function validateNew(ctx: AppContext, input: IncidentInput, now: Date): Promise<Result<ValidIncident, ValidationFailure>> {
	const errors: DomainError[] = [];
	const title = textField(errors, 'title', input.title, { required: true, max: TITLE_MAX_CHARS });
	const description = textField(errors, 'description', input.description, { max: DESCRIPTION_MAX_CHARS, multiline: true }) ?? '';
	const impact = parseImpact(input.impact);
	const urgency = parseUrgency(input.urgency);
	if (input.impact === undefined || input.impact === null || input.impact === '')
		errors.push({ code: 'required', message: 'impact is required', field: 'impact' });
	else if (!impact.ok) errors.push(impact.error);
	if (input.urgency === undefined || input.urgency === null || input.urgency === '')
		errors.push({ code: 'required', message: 'urgency is required', field: 'urgency' });
	else if (!urgency.ok) errors.push(urgency.error);
	let priority: Priority | undefined;
	if (impact.ok && urgency.ok) priority = priorityFor(impact.value, urgency.value);
	if (input.priority !== undefined && input.priority !== null && input.priority !== '') {
		const p = parsePriority(input.priority);
		if (!p.ok) errors.push(p.error);
		else if (priority && p.value !== priority)
			errors.push({
				code: 'priority_mismatch',
				message: `priority follows impact × urgency: ${impact.ok ? impact.value : ''} × ${urgency.ok ? urgency.value : ''} gives ${priority}, not ${p.value}`,
				field: 'priority',
				params: { expected: priority }
			});
	}
	const services = (await resolveServices(ctx, input.services, errors)) ?? [];
	const detectedAt = instant('detectedAt', input.detectedAt, now);
	if (isError(detectedAt)) errors.push(detectedAt);
	let source: IncidentSource = 'web';
	if (input.source !== undefined && input.source !== null && input.source !== '') {
		if (typeof input.source === 'string' && (INCIDENT_SOURCES as readonly string[]).includes(input.source))
			source = input.source as IncidentSource;
		else
			errors.push({
				code: 'invalid_value',
				message: `source must be one of ${INCIDENT_SOURCES.join(', ')}`,
				field: 'source',
				params: { allowed: INCIDENT_SOURCES.join(',') }
			});
	}
	const drill = flag('drill', input.drill);
	const restricted = flag('restricted', input.restricted);
	for (const v of [drill, restricted]) if (isError(v)) errors.push(v);
	const dedupeKey = textField(errors, 'dedupeKey', input.dedupeKey, { max: DEDUPE_KEY_MAX_CHARS });
	if (errors.length || !title || !priority || !impact.ok || !urgency.ok) return invalid(errors);
	return ok({
		title,
		description,
		impact: impact.value,
		urgency: urgency.value,
		priority,
		services,
		detectedAt: (detectedAt as Date | undefined) ?? now,
		source,
		drill: drill === true,
		restricted: restricted === true,
		dedupeKey: dedupeKey ?? null
	});
}

/** Postgres unique violation on the given index (both pg and PGlite expose `code` and `constraint`). */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
	if (typeof error !== 'object' || error === null) return false;
	const e = error as { code?: unknown; constraint?: unknown; message?: unknown };
	return e.code === '23505' && (e.constraint === constraint || (typeof e.message === 'string' && e.message.includes(constraint)));
}

function expectedVersionOf(value: unknown): number | undefined | DomainError {
	if (value === undefined || value === null || value === '') return undefined;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) return n;
	return { code: 'invalid_value', message: 'version must be a positive whole number', field: 'version' };
}

function staleVersion(row: IncidentRow, expected: number | undefined): DomainError | null {
	if (expected === undefined || row.version === expected) return null;
	return {
		code: 'conflict',
		message: `The incident was changed by someone else (version ${row.version}, you had ${expected}); reload and try again`,
		params: { version: row.version }
	};
}

// ---------------------------------------------------------------------------------------------
// View models
// ---------------------------------------------------------------------------------------------

export interface ServiceRef {
	id: string;
	code: string;
	nameZh: string;
	nameEn: string;
	criticality: ServiceRow['criticality'];
}

export interface MemberView {
	/** The membership row id. */
	id: string;
	userId: string;
	username: string;
	displayName: string;
	email: string | null;
	phone: string | null;
	orgUnitId: string | null;
	globalRole: 'admin' | 'manager' | 'responder' | 'viewer';
	role: IncidentRole;
	addedAt: Date;
	addedBy: string | null;
	pagedAt: Date | null;
	lastPagedAt: Date | null;
	pageCount: number;
	ackedAt: Date | null;
	/** Paged and not acknowledged yet. */
	awaitingAck: boolean;
}

export interface IncidentSummary {
	id: string;
	number: string;
	title: string;
	impact: Impact;
	urgency: Urgency;
	priority: Priority;
	status: IncidentStatus;
	source: IncidentSource;
	drill: boolean;
	restricted: boolean;
	detectedAt: Date;
	declaredAt: Date | null;
	resolvedAt: Date | null;
	createdAt: Date;
	updatedAt: Date;
	services: ServiceRef[];
	incidentManager: { userId: string; displayName: string } | null;
	/** The current user's role in the incident, if a member. */
	myRole: IncidentRole | null;
}

export interface IncidentView extends Omit<IncidentSummary, 'incidentManager'> {
	description: string;
	dedupeKey: string | null;
	repeatCount: number;
	lastRepeatedAt: Date | null;
	version: number;
	times: {
		detectedAt: Date;
		proposedAt: Date | null;
		declaredAt: Date | null;
		firstAckedAt: Date | null;
		mitigatedAt: Date | null;
		resolvedAt: Date | null;
		closedAt: Date | null;
		reopenedAt: Date | null;
	};
	proposedBy: { userId: string; displayName: string } | null;
	declaredBy: { userId: string; displayName: string } | null;
	rejectedReason: string | null;
	closeReason: string | null;
	reviewWaived: boolean;
	/** Active members, incident manager first, then by role order and join time. */
	members: MemberView[];
	incidentManager: MemberView | null;
	/** Paged members who have not acknowledged. */
	unacknowledged: MemberView[];
	me: { member: boolean; role: IncidentRole | null; awaitingAck: boolean };
	/** What the current user may do here (permissions.can, narrowed by token scopes). */
	allowed: Record<Operation, boolean>;
	/** Statuses the current user may move the incident to now (empty when not allowed to change it). */
	nextStatuses: IncidentStatus[];
}

const ROLE_ORDER: readonly IncidentRole[] = [
	'incident_manager',
	'deputy',
	'communications_lead',
	'scribe',
	'technical_lead',
	'vendor_liaison',
	'service_desk',
	'responder',
	'observer'
];

function serviceRef(s: ServiceRow): ServiceRef {
	return { id: s.id, code: s.code, nameZh: s.name_zh, nameEn: s.name_en, criticality: s.criticality };
}

export function memberView(m: membersRepo.MemberWithUser): MemberView {
	return {
		id: m.id,
		userId: m.user_id,
		username: m.username,
		displayName: m.display_name,
		email: m.email,
		phone: m.phone,
		orgUnitId: m.org_unit_id,
		globalRole: m.global_role,
		role: m.role,
		addedAt: m.added_at,
		addedBy: m.added_by,
		pagedAt: m.paged_at,
		lastPagedAt: m.last_paged_at,
		pageCount: m.page_count,
		ackedAt: m.acked_at,
		awaitingAck: m.paged_at !== null && m.acked_at === null
	};
}

function summary(
	row: IncidentRow,
	extra: { services: ServiceRow[]; members: membersRepo.MemberWithUser[]; actor: Actor }
): IncidentSummary {
	const im = extra.members.find((m) => m.role === 'incident_manager');
	const mine = extra.actor.userId ? extra.members.find((m) => m.user_id === extra.actor.userId) : undefined;
	return {
		id: row.id,
		number: row.number,
		title: row.title,
		impact: row.impact,
		urgency: row.urgency,
		priority: row.priority,
		status: row.status,
		source: row.source,
		drill: row.drill,
		restricted: row.restricted,
		detectedAt: row.detected_at,
		declaredAt: row.declared_at,
		resolvedAt: row.resolved_at,
		createdAt: row.created_at,
		updatedAt: row.updated_at,
		services: extra.services.map(serviceRef),
		incidentManager: im ? { userId: im.user_id, displayName: im.display_name } : null,
		myRole: mine?.role ?? null
	};
}

async function buildView(ctx: AppContext, actor: Actor, row: IncidentRow): Promise<IncidentView> {
	const [servicesMap, members] = await Promise.all([incidentsRepo.servicesOf(ctx.db, [row.id]), membersRepo.listActive(ctx.db, [row.id])]);
	members.sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.added_at.getTime() - b.added_at.getTime());
	const base = summary(row, { services: servicesMap.get(row.id) ?? [], members, actor });
	const views = members.map(memberView);
	const mine = actor.userId ? members.find((m) => m.user_id === actor.userId) : undefined;
	const people = await usersRepo.listByIds(
		ctx.db,
		[row.proposed_by, row.declared_by].filter((x): x is string => !!x)
	);
	const person = (id: string | null) => {
		const u = id ? people.find((p) => p.id === id) : undefined;
		return u ? { userId: u.id, displayName: u.display_name } : null;
	};
	const allowed = allowedOperations(actor, { incident: row, member: mine });
	let nextStatuses: IncidentStatus[] = [];
	if (row.status === 'proposed') nextStatuses = allowed.accept_proposal ? [...allowedTransitions(row.status)] : [];
	else if (allowed.change_status) {
		// Closing needs a published review, or the right to waive it (with a reason).
		const published = row.status === 'resolved' && (await reviewPublished(ctx.db, row.id));
		nextStatuses = allowedTransitions(row.status).filter((s) => s !== 'closed' || published || allowed.waive_review);
	}
	return {
		...base,
		description: row.description,
		dedupeKey: row.dedupe_key,
		repeatCount: row.repeat_count,
		lastRepeatedAt: row.last_repeated_at,
		version: row.version,
		times: {
			detectedAt: row.detected_at,
			proposedAt: row.proposed_at,
			declaredAt: row.declared_at,
			firstAckedAt: row.first_acked_at,
			mitigatedAt: row.mitigated_at,
			resolvedAt: row.resolved_at,
			closedAt: row.closed_at,
			reopenedAt: row.reopened_at
		},
		proposedBy: person(row.proposed_by),
		declaredBy: person(row.declared_by),
		rejectedReason: row.rejected_reason,
		closeReason: row.close_reason,
		reviewWaived: row.review_waived,
		members: views,
		incidentManager: views.find((m) => m.role === 'incident_manager') ?? null,
		unacknowledged: views.filter((m) => m.awaitingAck),
		me: { member: !!mine, role: mine?.role ?? null, awaitingAck: !!mine && mine.paged_at !== null && mine.acked_at === null },
		allowed,
		nextStatuses
	};
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

/** `active` = investigating/identified/mitigated; `open` = those plus proposed. */
export type StatusFilter = IncidentStatus | 'active' | 'open';

export interface IncidentFilters {
	status?: StatusFilter | StatusFilter[];
	priority?: Priority | Priority[];
	serviceId?: string;
	/** Only incidents where the current user is an active member. */
	mine?: boolean;
	drill?: boolean;
	restricted?: boolean;
	/** Searches the number, title and description. */
	q?: string;
	limit?: number;
}

export async function getIncident(ctx: AppContext, actor: Actor, ref: string): Promise<Result<IncidentView>> {
	const loaded = await loadFor(ctx, actor, { ref, operation: 'view_incident' });
	if (!loaded.ok) return loaded;
	return ok(await buildView(ctx, actor, loaded.value.incident));
}

export async function listIncidents(
	ctx: AppContext,
	actor: Actor,
	filters: IncidentFilters = {}
): Promise<Result<IncidentSummary[], ValidationFailure>> {
	// A global read: scopes still apply, restriction is handled in the query.
	if (actor.scopes && !actor.scopes.includes('incidents:read'))
		return err(forbidden('This API token lacks the incidents:read scope', { reason: 'scope' }));
	const statuses = new Set<IncidentStatus>();
	for (const s of [filters.status ?? []].flat()) {
		if (s === 'active') ['investigating', 'identified', 'mitigated'].forEach((x) => statuses.add(x as IncidentStatus));
		else if (s === 'open') OPEN_STATUSES.forEach((x) => statuses.add(x));
		else if ((INCIDENT_STATUSES as readonly string[]).includes(s)) statuses.add(s);
		else
			return invalid([
				{ code: 'invalid_value', message: `status must be one of active, open, ${INCIDENT_STATUSES.join(', ')}`, field: 'status' }
			]);
	}
	const priorities = [filters.priority ?? []].flat();
	if (priorities.some((p) => !(PRIORITIES as readonly string[]).includes(p)))
		return invalid([{ code: 'invalid_value', message: `priority must be one of ${PRIORITIES.join(', ')}`, field: 'priority' }]);
	// Control characters (NUL above all, which PostgreSQL refuses in text) cannot match anything.
	const q = filters.q?.replace(CONTROL_CHARS, ' ').trim().slice(0, SEARCH_MAX_CHARS) || undefined;
	if (filters.serviceId !== undefined && HAS_CONTROL.test(filters.serviceId)) return ok([]);
	const seesAll = actor.kind === 'system' || actor.globalRole === 'system' || actor.globalRole === 'admin';
	if (!seesAll && !actor.userId) return ok([]);
	if (filters.mine && !actor.userId) return ok([]);
	const rows = await incidentsRepo.list(ctx.db, {
		statuses: [...statuses],
		priorities,
		serviceId: filters.serviceId || undefined,
		memberUserId: filters.mine ? (actor.userId ?? undefined) : undefined,
		drill: filters.drill,
		restricted: filters.restricted,
		q,
		restrictedVisibleTo: seesAll ? 'all' : { userId: actor.userId! },
		limit: Math.min(Math.max(1, Math.floor(filters.limit ?? LIST_DEFAULT_LIMIT)), LIST_MAX_LIMIT)
	});
	const ids = rows.map((r) => r.id);
	const [servicesMap, members] = await Promise.all([incidentsRepo.servicesOf(ctx.db, ids), membersRepo.listActive(ctx.db, ids)]);
	return ok(
		rows.map((row) =>
			summary(row, { services: servicesMap.get(row.id) ?? [], members: members.filter((m) => m.incident_id === row.id), actor })
		)
	);
}

type AccessQuestion = { userId: string; incidentId: string };
const accessLoaders = new WeakMap<AppContext, ReturnType<typeof newAccessLoader>>();

/** Access questions asked together (a join storm, the re-check of open sockets) share one query per incident (db/batch.ts). */
function newAccessLoader(ctx: AppContext) {
	return batchLoader(
		async (questions: readonly AccessQuestion[]) => {
			const usersOf = new Map<string, string[]>();
			for (const q of questions) {
				const list = usersOf.get(q.incidentId);
				if (list) list.push(q.userId);
				else usersOf.set(q.incidentId, [q.userId]);
			}
			const answers = new Map(
				[...usersOf].map(([incidentId, userIds]) => [incidentId, membersRepo.accessFactsMany(ctx.db, incidentId, userIds)])
			);
			// One incident's failed query fails only its own questions.
			return Promise.all(
				questions.map((q) =>
					answers.get(q.incidentId)!.then(
						(facts) => facts.get(q.userId),
						(error: unknown) => toError(error)
					)
				)
			);
		},
		(q) => `${q.incidentId} ${q.userId}`
	);
}

function toError(error: unknown): Error {
	return error instanceof Error ? error : new Error(String(error));
}

function accessLoader(ctx: AppContext): ReturnType<typeof newAccessLoader> {
	let loader = accessLoaders.get(ctx);
	if (!loader) accessLoaders.set(ctx, (loader = newAccessLoader(ctx)));
	return loader;
}

/**
 * What the collab socket lets this user do in the incident's shared document: `write`, `read`
 * (viewers, observers, non-member responders — the socket drops their updates) or `none`.
 */
export async function roomAccess(ctx: AppContext, opts: { userId: string; incidentId: string }): Promise<RoomAccess> {
	return decideRoomAccess(await accessLoader(ctx).load(opts));
}

/** The one rule behind `roomAccess` and `roomPolicy`. */
function decideRoomAccess(facts: membersRepo.AccessFacts | undefined): RoomAccess {
	if (!facts || facts.disabled) return 'none';
	const input = {
		globalRole: facts.global_role,
		incidentRole: facts.member_role,
		member: facts.member_role !== null,
		restricted: facts.restricted
	};
	if (whyNot({ ...input, operation: 'view_incident' })) return 'none';
	return whyNot({ ...input, operation: 'write_timeline' }) ? 'read' : 'write';
}

const roomFactsLoaders = new WeakMap<AppContext, ReturnType<typeof newRoomFactsLoader>>();

/** Room facts asked together (upgrades to several rooms at once) share one query (db/batch.ts). */
function newRoomFactsLoader(ctx: AppContext) {
	return batchLoader(async (incidentIds: readonly string[]) => {
		const facts = await membersRepo.roomFactsMany(ctx.db, incidentIds);
		return incidentIds.map((id) => facts.get(id));
	});
}

function roomFactsLoader(ctx: AppContext): ReturnType<typeof newRoomFactsLoader> {
	let loader = roomFactsLoaders.get(ctx);
	if (!loader) roomFactsLoaders.set(ctx, (loader = newRoomFactsLoader(ctx)));
	return loader;
}

/**
 * The collab socket's access resolver (collab/access.ts): the incident's restricted flag and active
 * members, read once, as the rule `roomAccess` applies, for whichever user a session brings.
 */
export async function roomPolicy(ctx: AppContext, incidentId: string): Promise<RoomPolicy> {
	const room = await roomFactsLoader(ctx).load(incidentId);
	if (!room) return NOBODY;
	return (user) =>
		decideRoomAccess({
			global_role: user.global_role,
			disabled: user.disabled,
			restricted: room.restricted,
			member_role: room.members.get(user.id) ?? null
		});
}

// ---------------------------------------------------------------------------------------------
// Opening an incident
// ---------------------------------------------------------------------------------------------

export interface OpenOutcome {
	incident: IncidentView;
	/** False when a repeat of an alert landed on the open incident with the same dedupe key. */
	created: boolean;
}

function actorName(actor: Actor): string {
	return actor.displayName;
}

function incidentAudit(row: IncidentRow, services?: readonly ServiceRow[]) {
	return { ...row, services: services?.map((s) => s.code) };
}

/** Propose (anyone signed in) or declare (managers and admins) a major incident. */
export async function openIncident(
	ctx: AppContext,
	actor: Actor,
	opts: { mode: OpeningMode; input: IncidentInput }
): Promise<Result<OpenOutcome, ValidationFailure>> {
	const denied = denial(actor, { operation: opts.mode });
	if (denied) return err(denied);
	const now = ctx.now();
	const valid = await validateNew(ctx, opts.input, now);
	if (!valid.ok) return valid;
	const v = valid.value;

	if (v.dedupeKey) {
		const existing = await incidentsRepo.findOpenByDedupeKey(ctx.db, v.dedupeKey);
		if (existing) return repeatAlert(ctx, actor, { incident: existing, dedupeKey: v.dedupeKey, title: v.title });
	}

	const opening = openingStatus(opts.mode, now);
	let row: IncidentRow;
	try {
		row = await ctx.db.transaction().execute(async (trx) => {
			const seq = await incidentsRepo.nextSeq(trx, incidentDayKey(now, ctx.config.orgTimeZone));
			const inserted = await incidentsRepo.insert(trx, {
				id: crypto.randomUUID(),
				number: formatIncidentNumber(now, seq, ctx.config.orgTimeZone),
				title: v.title,
				description: v.description,
				impact: v.impact,
				urgency: v.urgency,
				priority: v.priority,
				status: opening.status,
				source: v.source,
				drill: v.drill,
				restricted: v.restricted,
				detected_at: v.detectedAt,
				proposed_at: opts.mode === 'propose' ? now : null,
				declared_at: opening.stamps.declaredAt ?? null,
				first_acked_at: null,
				mitigated_at: null,
				resolved_at: null,
				closed_at: null,
				reopened_at: null,
				proposed_by: opts.mode === 'propose' ? actor.userId : null,
				declared_by: opts.mode === 'declare' ? actor.userId : null,
				rejected_reason: null,
				close_reason: null,
				dedupe_key: v.dedupeKey,
				last_repeated_at: null,
				created_at: now,
				updated_at: now
			});
			await incidentsRepo.setServices(trx, { incidentId: inserted.id, serviceIds: v.services.map((s) => s.id) });
			await audit.record(trx, {
				actorId: actor.userId,
				action: opts.mode === 'declare' ? 'incident.declare' : 'incident.propose',
				subjectType: 'incident',
				subjectId: inserted.id,
				after: incidentAudit(inserted, v.services),
				at: now
			});
			// Whoever declares takes command; whoever proposes joins, so they keep access to a
			// restricted proposal and can write on its timeline. The system actor is nobody.
			if (actor.userId) {
				const member = await membersRepo.insert(trx, {
					id: crypto.randomUUID(),
					incident_id: inserted.id,
					user_id: actor.userId,
					role: opts.mode === 'declare' ? 'incident_manager' : 'responder',
					added_by: actor.userId,
					added_at: now,
					// They are already on it: no page to acknowledge.
					acked_at: now
				});
				await audit.record(trx, {
					actorId: actor.userId,
					action: 'incident.member_add',
					subjectType: 'incident',
					subjectId: inserted.id,
					after: member,
					at: now
				});
			}
			return inserted;
		});
	} catch (error) {
		// Two identical alerts at the same moment: the partial unique index lets one in; the other
		// lands on it like any repeat.
		if (v.dedupeKey && isUniqueViolation(error, 'incidents_open_dedupe_key')) {
			const existing = await incidentsRepo.findOpenByDedupeKey(ctx.db, v.dedupeKey);
			if (existing) return repeatAlert(ctx, actor, { incident: existing, dedupeKey: v.dedupeKey, title: v.title });
		}
		throw error;
	}

	const proposed = opts.mode === 'propose';
	await afterCommit(ctx, {
		incidentId: row.id,
		what: proposed ? 'proposed' : 'declared',
		entry: {
			kind: 'status',
			pinned: true,
			text: proposed
				? bilingual('incident.timeline.proposed', { actor: actorName(actor), title: row.title })
				: bilingual('incident.timeline.declared', { actor: actorName(actor), title: row.title, priority: row.priority })
		}
	});
	if (proposed) {
		const managers = (await usersRepo.list(ctx.db)).filter(
			(u) => !u.disabled && (u.global_role === 'manager' || u.global_role === 'admin') && u.id !== actor.userId
		);
		await notify(ctx, {
			event: 'incident.proposed',
			incidentId: row.id,
			recipients: managers.map((u) => u.id),
			title: bilingual('incident.notify.proposedTitle', { number: row.number }),
			body: bilingual('incident.notify.proposedBody', { actor: actorName(actor), title: row.title, priority: row.priority }),
			link: `/incidents/${row.id}`,
			restricted: row.restricted,
			dedupeKey: `incident.proposed:${row.id}`
		});
	} else {
		await notify(ctx, {
			event: 'incident.declared',
			incidentId: row.id,
			recipients: (await activeMemberIds(ctx, row.id)).filter((id) => id !== actor.userId),
			title: bilingual('incident.notify.declaredTitle', { number: row.number, priority: row.priority }),
			body: bilingual('incident.notify.declaredBody', { title: row.title }),
			link: `/incidents/${row.id}`,
			restricted: row.restricted,
			dedupeKey: `incident.declared:${row.id}`
		});
	}
	return ok({ incident: await buildView(ctx, actor, row), created: true });
}

export function proposeIncident(ctx: AppContext, actor: Actor, input: IncidentInput) {
	return openIncident(ctx, actor, { mode: 'propose', input });
}

export function declareIncident(ctx: AppContext, actor: Actor, input: IncidentInput) {
	return openIncident(ctx, actor, { mode: 'declare', input });
}

/**
 * A repeat of an alert: count it and put an observation on the timeline. Not an audit event — no
 * fact of the incident changed, and a flapping monitor would otherwise flood the audit log.
 * If the caller may not see the existing incident (restricted), say only that it exists.
 */
async function repeatAlert(
	ctx: AppContext,
	actor: Actor,
	opts: { incident: IncidentRow; dedupeKey: string; title: string }
): Promise<Result<OpenOutcome, ValidationFailure>> {
	const member = actor.userId ? await membersRepo.findActive(ctx.db, { incidentId: opts.incident.id, userId: actor.userId }) : undefined;
	if (denial({ ...actor, scopes: undefined }, { operation: 'view_incident', incident: opts.incident, member }))
		return err(conflict('An open incident you cannot see already has this dedupe key'));
	const now = ctx.now();
	await incidentsRepo.recordRepeat(ctx.db, { id: opts.incident.id, at: now });
	await afterCommit(ctx, {
		incidentId: opts.incident.id,
		what: 'alert_repeated',
		board: false,
		entry: { kind: 'observation', text: bilingual('incident.timeline.repeated', { key: opts.dedupeKey, title: opts.title }) }
	});
	const fresh = (await incidentsRepo.findById(ctx.db, opts.incident.id)) ?? opts.incident;
	return ok({ incident: await buildView(ctx, actor, fresh), created: false });
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

const KEY_TIME_COLUMNS: Record<KeyTime, 'declared_at' | 'mitigated_at' | 'resolved_at' | 'closed_at' | 'reopened_at'> = {
	declaredAt: 'declared_at',
	mitigatedAt: 'mitigated_at',
	resolvedAt: 'resolved_at',
	closedAt: 'closed_at',
	reopenedAt: 'reopened_at'
};

export interface StatusChange {
	incidentId: string;
	to: unknown;
	/** Rejecting and reopening need one. */
	reason?: unknown;
	/** Closing without a published review needs one (the manager's waiver). */
	waiverReason?: unknown;
	/** The version the caller saw; a different current version is a `conflict`. */
	expectedVersion?: unknown;
}

/** A signed-off version of the post-incident review exists (later drafts do not undo it). */
async function reviewPublished(db: Parameters<typeof reviewsRepo.findByIncident>[0], incidentId: string): Promise<boolean> {
	const review = await reviewsRepo.findByIncident(db, incidentId);
	return !!review && review.version > 0;
}

/**
 * Moves the incident through the state machine. Accepting or rejecting a proposal needs
 * `accept_proposal`; closing needs a published review, or `waive_review` and a waiver reason.
 */
export async function changeStatus(ctx: AppContext, actor: Actor, opts: StatusChange): Promise<Result<IncidentView, ValidationFailure>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId });
	if (!pre.ok) return pre;
	const operation: Operation = pre.value.incident.status === 'proposed' ? 'accept_proposal' : 'change_status';
	const denied = denial(actor, { operation, incident: pre.value.incident, member: pre.value.member });
	if (denied) return err(denied);
	const to = parseIncidentStatus(opts.to);
	if (!to.ok) return invalid([to.error]);
	if (to.value === 'closed' && !(await reviewPublished(ctx.db, pre.value.incident.id))) {
		// Without a published review, closing is a waiver: only those who may waive the review.
		const noWaiver = denial(actor, { operation: 'waive_review', incident: pre.value.incident, member: pre.value.member });
		if (noWaiver) return err(noWaiver);
	}
	const errors: DomainError[] = [];
	const reason = textField(errors, 'reason', opts.reason, { max: REASON_MAX_CHARS, multiline: true });
	const waiverReason = textField(errors, 'waiverReason', opts.waiverReason, { max: REASON_MAX_CHARS, multiline: true });
	const expected = expectedVersionOf(opts.expectedVersion);
	if (isError(expected)) errors.push(expected);
	if (errors.length) return invalid(errors);
	const now = ctx.now();
	const incidentId = pre.value.incident.id;

	type Outcome =
		{ ok: true; row: IncidentRow; before: IncidentRow; kind: string; reason: string | null } | { ok: false; error: DomainError };
	let outcome: Outcome;
	try {
		outcome = await ctx.db.transaction().execute(async (trx): Promise<Outcome> => {
			const current = await incidentsRepo.findByIdForUpdate(trx, incidentId);
			if (!current) return { ok: false, error: notFound() };
			const stale = staleVersion(current, expected as number | undefined);
			if (stale) return { ok: false, error: stale };
			const published = to.value === 'closed' && (await reviewPublished(trx, current.id));
			const t = transition({ from: current.status, to: to.value, reason, waiverReason, now, reviewPublished: published });
			if (!t.ok) return { ok: false, error: t.error };
			const patch: IncidentUpdate = { status: t.value.to, updated_at: now };
			for (const [k, at] of Object.entries(t.value.stamps)) patch[KEY_TIME_COLUMNS[k as KeyTime]] = at;
			for (const k of t.value.clears) patch[KEY_TIME_COLUMNS[k]] = null;
			if (t.value.kind === 'accept') patch.declared_by = actor.userId;
			if (t.value.kind === 'reject') patch.rejected_reason = t.value.reason;
			if (t.value.kind === 'close') {
				patch.close_reason = t.value.reason;
				patch.review_waived = t.value.reviewWaived;
			}
			if (t.value.kind === 'reopen') {
				patch.close_reason = null;
				patch.review_waived = false;
			}
			const updated = await incidentsRepo.update(trx, { id: current.id, patch });
			if (!updated) return { ok: false, error: notFound() };
			await audit.record(trx, {
				actorId: actor.userId,
				action: `incident.${t.value.kind}`,
				subjectType: 'incident',
				subjectId: current.id,
				before: { status: current.status, version: current.version },
				after: { status: updated.status, version: updated.version, reason: t.value.reason, stamps: t.value.stamps, clears: t.value.clears },
				at: now
			});
			// Accepting puts the accepting manager in command unless someone already is.
			if (t.value.kind === 'accept' && actor.userId && !(await membersRepo.findActiveManager(trx, current.id))) {
				await takeCommand(trx, { incidentId: current.id, userId: actor.userId, actorId: actor.userId, now });
			}
			return { ok: true, row: updated, before: current, kind: t.value.kind, reason: t.value.reason };
		});
	} catch (error) {
		// Reopening while another open incident took over the same alert key.
		if (isUniqueViolation(error, 'incidents_open_dedupe_key'))
			return err(conflict('Another open incident has the same dedupe key; resolve or merge it first'));
		throw error;
	}
	if (!outcome.ok) return err(outcome.error);
	const { row, before, kind } = outcome;
	const who = actorName(actor);
	const entryText =
		kind === 'accept'
			? bilingual('incident.timeline.accepted', { actor: who })
			: kind === 'reject'
				? bilingual('incident.timeline.rejected', { actor: who, reason: outcome.reason ?? '' })
				: kind === 'close'
					? bilingual('incident.timeline.closed', { actor: who, reason: outcome.reason ?? '' })
					: kind === 'reopen'
						? bilingual('incident.timeline.reopened', { actor: who, reason: outcome.reason ?? '' })
						: bilingual('incident.timeline.status', { actor: who, from: statusLabel(before.status), to: statusLabel(row.status) });
	await afterCommit(ctx, {
		incidentId: row.id,
		what: `status:${row.status}`,
		entry: { kind: 'status', text: entryText, pinned: kind !== 'advance' }
	});
	const recipients = (await activeMemberIds(ctx, row.id)).filter((id) => id !== actor.userId);
	await notify(ctx, {
		event: kind === 'accept' ? 'incident.declared' : 'incident.status_changed',
		incidentId: row.id,
		recipients,
		title:
			kind === 'accept'
				? bilingual('incident.notify.declaredTitle', { number: row.number, priority: row.priority })
				: bilingual('incident.notify.statusTitle', { number: row.number, status: statusLabel(row.status) }),
		body: bilingual('incident.notify.statusBody', { title: row.title }),
		link: `/incidents/${row.id}`,
		restricted: row.restricted,
		dedupeKey: `incident.status:${row.id}:${row.version}`
	});
	return ok(await buildView(ctx, actor, row));
}

export function acceptProposal(ctx: AppContext, actor: Actor, opts: { incidentId: string; expectedVersion?: unknown }) {
	return changeStatus(ctx, actor, { ...opts, to: 'investigating' });
}

export function rejectProposal(ctx: AppContext, actor: Actor, opts: { incidentId: string; reason: unknown; expectedVersion?: unknown }) {
	return changeStatus(ctx, actor, { ...opts, to: 'rejected' });
}

/** Until the post-incident review exists, closing is a manager's recorded waiver. */
export function closeIncident(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; waiverReason: unknown; expectedVersion?: unknown }
) {
	return changeStatus(ctx, actor, { ...opts, to: 'closed' });
}

export function reopenIncident(ctx: AppContext, actor: Actor, opts: { incidentId: string; reason: unknown; expectedVersion?: unknown }) {
	return changeStatus(ctx, actor, { ...opts, to: 'investigating' });
}

/**
 * Puts `userId` in command inside the caller's transaction: the current incident manager (if any)
 * becomes deputy, then the new one is promoted (in that order, so the one-manager index holds).
 */
export async function takeCommand(
	trx: Transaction<Database>,
	opts: { incidentId: string; userId: string; actorId: string | null; now: Date; previous?: 'deputy' | 'leave' }
): Promise<{ previous: IncidentMemberRow | undefined; current: IncidentMemberRow; changed: boolean }> {
	const previous = await membersRepo.findActiveManager(trx, opts.incidentId);
	if (previous && previous.user_id === opts.userId) return { previous: undefined, current: previous, changed: false };
	if (previous) {
		const demoted = await membersRepo.update(trx, {
			id: previous.id,
			patch: opts.previous === 'leave' ? { removed_at: opts.now, removed_by: opts.actorId } : { role: 'deputy' }
		});
		await audit.record(trx, {
			actorId: opts.actorId,
			action: opts.previous === 'leave' ? 'incident.member_remove' : 'incident.member_role',
			subjectType: 'incident',
			subjectId: opts.incidentId,
			before: previous,
			after: demoted,
			at: opts.now
		});
	}
	const existing = await membersRepo.findActive(trx, { incidentId: opts.incidentId, userId: opts.userId });
	const current = existing
		? await membersRepo.update(trx, { id: existing.id, patch: { role: 'incident_manager' } })
		: await membersRepo.insert(trx, {
				id: crypto.randomUUID(),
				incident_id: opts.incidentId,
				user_id: opts.userId,
				role: 'incident_manager',
				added_by: opts.actorId,
				added_at: opts.now,
				// Taking command yourself is its own acknowledgement; being put in command is paged.
				acked_at: opts.actorId === opts.userId ? opts.now : null
			});
	await audit.record(trx, {
		actorId: opts.actorId,
		action: 'incident.hand_over',
		subjectType: 'incident',
		subjectId: opts.incidentId,
		before: { incidentManager: previous?.user_id ?? null, previousBecomes: previous ? (opts.previous ?? 'deputy') : null },
		after: { incidentManager: opts.userId, member: current, at: opts.now },
		at: opts.now
	});
	return { previous, current: current!, changed: true };
}

// ---------------------------------------------------------------------------------------------
// Priority and details
// ---------------------------------------------------------------------------------------------

export async function changePriority(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; impact?: unknown; urgency?: unknown; reason: unknown; expectedVersion?: unknown }
): Promise<Result<IncidentView, ValidationFailure>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'change_priority' });
	if (!pre.ok) return pre;
	const errors: DomainError[] = [];
	const current = pre.value.incident;
	let impact: Impact = current.impact;
	let urgency: Urgency = current.urgency;
	if (opts.impact !== undefined && opts.impact !== '') {
		const r = parseImpact(opts.impact);
		if (r.ok) impact = r.value;
		else errors.push(r.error);
	}
	if (opts.urgency !== undefined && opts.urgency !== '') {
		const r = parseUrgency(opts.urgency);
		if (r.ok) urgency = r.value;
		else errors.push(r.error);
	}
	const reason = textField(errors, 'reason', opts.reason, { required: true, max: REASON_MAX_CHARS, multiline: true });
	const expected = expectedVersionOf(opts.expectedVersion);
	if (isError(expected)) errors.push(expected);
	if (!errors.length && impact === current.impact && urgency === current.urgency)
		errors.push({ code: 'unchanged', message: 'impact and urgency are unchanged', field: 'impact' });
	if (errors.length || !reason) return invalid(errors);
	if (current.status === 'rejected' || current.status === 'closed')
		return err(conflict(`A ${current.status} incident's priority cannot change; reopen it first`));
	const priority = priorityFor(impact, urgency);
	const now = ctx.now();
	const result = await ctx.db.transaction().execute(async (trx) => {
		const locked = await incidentsRepo.findByIdForUpdate(trx, current.id);
		if (!locked) return err(notFound());
		const stale = staleVersion(locked, expected as number | undefined);
		if (stale) return err(stale);
		const updated = await incidentsRepo.update(trx, { id: locked.id, patch: { impact, urgency, priority, updated_at: now } });
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'incident.priority_change',
			subjectType: 'incident',
			subjectId: locked.id,
			before: { impact: locked.impact, urgency: locked.urgency, priority: locked.priority },
			after: { impact, urgency, priority, reason },
			at: now
		});
		return ok({ before: locked, row: updated! });
	});
	if (!result.ok) return result;
	const { before, row } = result.value;
	await afterCommit(ctx, {
		incidentId: row.id,
		what: 'priority',
		entry: {
			kind: 'decision',
			pinned: true,
			text: bilingual('incident.timeline.priority', {
				actor: actorName(actor),
				from: before.priority,
				to: row.priority,
				impact: label(`impact.${impact}` as MessageKey),
				urgency: label(`urgency.${urgency}` as MessageKey),
				reason
			})
		}
	});
	if (before.priority !== row.priority)
		await notify(ctx, {
			event: 'incident.priority_changed',
			incidentId: row.id,
			recipients: (await activeMemberIds(ctx, row.id)).filter((id) => id !== actor.userId),
			title: bilingual('incident.notify.priorityTitle', { number: row.number, from: before.priority, to: row.priority }),
			body: bilingual('incident.notify.priorityBody', { reason }),
			link: `/incidents/${row.id}`,
			restricted: row.restricted,
			dedupeKey: `incident.priority:${row.id}:${row.version}`
		});
	return ok(await buildView(ctx, actor, row));
}

export interface IncidentEdit {
	title?: unknown;
	description?: unknown;
	services?: unknown;
	drill?: unknown;
	restricted?: unknown;
}

const EDIT_FIELD_LABELS: Record<keyof IncidentEdit, MessageKey> = {
	title: 'incident.title',
	description: 'incident.description',
	services: 'incident.services',
	drill: 'incident.drill',
	restricted: 'incident.restricted'
};

/** Edits the title, description, affected services and the drill/restricted flags (only what is given). */
export async function editIncident(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; input: IncidentEdit; expectedVersion?: unknown }
): Promise<Result<IncidentView, ValidationFailure>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'edit_incident' });
	if (!pre.ok) return pre;
	const { input } = opts;
	const errors: DomainError[] = [];
	const patch: IncidentUpdate = {};
	if (input.title !== undefined) {
		const t = textField(errors, 'title', input.title, { required: true, max: TITLE_MAX_CHARS });
		if (t !== undefined) patch.title = t;
	}
	if (input.description !== undefined)
		patch.description = textField(errors, 'description', input.description, { max: DESCRIPTION_MAX_CHARS, multiline: true }) ?? '';
	for (const key of ['drill', 'restricted'] as const) {
		const f = flag(key, input[key]);
		if (isError(f)) errors.push(f);
		else if (f !== undefined) patch[key] = f;
	}
	const services = await resolveServices(ctx, input.services, errors);
	const expected = expectedVersionOf(opts.expectedVersion);
	if (isError(expected)) errors.push(expected);
	if (errors.length) return invalid(errors);
	const now = ctx.now();
	const result = await ctx.db.transaction().execute(async (trx) => {
		const locked = await incidentsRepo.findByIdForUpdate(trx, pre.value.incident.id);
		if (!locked) return err(notFound());
		const stale = staleVersion(locked, expected as number | undefined);
		if (stale) return err(stale);
		const beforeServices = (await incidentsRepo.servicesOf(trx, [locked.id])).get(locked.id) ?? [];
		const changed: (keyof IncidentEdit)[] = [];
		const before: Record<string, unknown> = {};
		const after: Record<string, unknown> = {};
		for (const [k, v] of Object.entries(patch) as [keyof IncidentEdit & keyof IncidentRow, unknown][]) {
			if (locked[k] !== v) {
				changed.push(k);
				before[k] = locked[k];
				after[k] = v;
			}
		}
		const serviceIdsBefore = beforeServices.map((s) => s.id).sort();
		const serviceIdsAfter = services?.map((s) => s.id).sort();
		if (serviceIdsAfter && serviceIdsAfter.join() !== serviceIdsBefore.join()) {
			changed.push('services');
			before.services = beforeServices.map((s) => s.code);
			after.services = services!.map((s) => s.code);
			await incidentsRepo.setServices(trx, { incidentId: locked.id, serviceIds: serviceIdsAfter });
		}
		if (changed.length === 0) return ok({ row: locked, changed });
		const updated = await incidentsRepo.update(trx, { id: locked.id, patch: { ...patch, updated_at: now } });
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'incident.edit',
			subjectType: 'incident',
			subjectId: locked.id,
			before,
			after,
			at: now
		});
		return ok({ row: updated!, changed });
	});
	if (!result.ok) return result;
	const { row, changed } = result.value;
	if (changed.length) {
		const names = (locale: 'zh-CN' | 'en') =>
			changed.map((k) => label(EDIT_FIELD_LABELS[k])[locale]).join(locale === 'zh-CN' ? '、' : ', ');
		await afterCommit(ctx, {
			incidentId: row.id,
			what: `edit:${changed.join(',')}`,
			entry: {
				kind: 'note',
				text: bilingual('incident.timeline.edited', { actor: actorName(actor), fields: { 'zh-CN': names('zh-CN'), en: names('en') } })
			}
		});
	}
	return ok(await buildView(ctx, actor, row));
}
