/**
 * The executive status board (issue 7): what executives and head office see without interrupting the
 * responders — every active major incident they may see, business-service health, history, and the
 * one-click "request an update". Also the share links that show the same board, read-only, to
 * stakeholders without an account.
 *
 * What the board shows of an incident's communications is **only approved status updates** (their one
 * line), never the raw timeline or drafts: the approved line is read through `BoardSources`, whose
 * default reads only rows in state approved/sent with an approval time.
 *
 * Visibility: the active incidents come from `listIncidents` (the same restricted-incident rule as every
 * other read path), and the history query applies the same rule in SQL. A share link sees no restricted
 * incident at all, whoever created it.
 */
import {
	HISTORY_WINDOWS,
	parseHistoryWindow,
	weeklyTrend,
	type BilingualLine,
	type HistoryWindow,
	type TrendPoint
} from '../../domain/board';
import { evaluatePolicy, type ClockKind } from '../../domain/clocks';
import { MINUTE_MS, type EscalationPolicy } from '../../domain/escalation-policy';
import { isActiveStatus, type IncidentStatus } from '../../domain/incident-status';
import { incidentMetrics, serviceHealth, slaAttainment, type Attainment, type Mean, type ServiceHealth } from '../../domain/metrics';
import { PRIORITIES, type Impact, type Priority } from '../../domain/priority';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import { newToken, parseToken, secretMatches } from '../auth/tokens';
import { SYSTEM_ACTOR, type Actor, type AppContext } from '../context';
import type { AppEvent } from '../events';
import * as boardRepo from '../repositories/board.repository';
import * as audit from './audit.service';
import { listOpenActionItems } from './action-item.service';
import { listServices } from './catalogue.service';
import { evaluateIncident, type IncidentClocks } from './clocks.service';
import * as escalation from './escalation.service';
import { listIncidents, loadFor, type IncidentSummary } from './incident.service';
import type { ValidationFailure } from './users.service';
import { isError, text } from './validate';

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

/** The board lists at most this many active incidents (an ops centre with more has bigger problems). */
export const BOARD_MAX_INCIDENTS = 500;
/** A second click on "request update" within this time notifies nobody again (one request is enough). */
export const REQUEST_REPEAT_WINDOW_MS = 5 * 60_000;
export const SHARE_LABEL_MAX_CHARS = 100;
export const SHARE_MIN_HOURS = 1;
/** A share link lives at most 30 days: stakeholder links leak into e-mail threads and chat groups. */
export const SHARE_MAX_HOURS = 30 * 24;
export const SHARE_DEFAULT_HOURS = 24;
export const SHARE_LIST_LIMIT = 200;
/**
 * History is the heavy part of the board and changes slowly; it is cached per audience and window for
 * this long, and dropped at once on any incident or board change (the same events that refresh pages).
 */
export const HISTORY_CACHE_MS = 60_000;
/**
 * The board itself is cached per audience (user or share link) and window, and the per-incident
 * escalation facts per incident, both dropped on the events every change publishes (incident, board,
 * membership, user). With PostgreSQL the event bus is relayed between processes, so every node drops
 * its copy. The time limit is only a safety net for changes that publish nothing (an admin's policy
 * edit, a catalogue change): deadlines are absolute instants and durations are counted in the browser,
 * so a cached board does not go stale by itself.
 */
export const BOARD_CACHE_MS = 30_000;
/** Bounds the per-audience board cache (one entry per signed-in user and window). */
export const BOARD_CACHE_MAX_ENTRIES = 2_000;

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

export interface BoardServiceRef {
	id: string;
	code: string;
	nameZh: string;
	nameEn: string;
}

export type EscalationLevel = 'regional' | 'head_office';

export interface HeadOfficeView {
	/** Whether the policy requires a report to head office for this incident. */
	required: boolean;
	/** `head_office` once a report has gone there, else `regional`. */
	level: EscalationLevel;
	reportsSent: number;
	lastReport: { kind: 'initial' | 'progress' | 'final' | null; sequence: number; sentAt: Date; acknowledgedAt: Date | null } | null;
}

export interface ApprovedLine {
	communicationId: string;
	line: BilingualLine;
	approvedAt: Date;
}

export interface BoardIncident {
	id: string;
	number: string;
	title: string;
	priority: Priority;
	impact: Impact;
	status: IncidentStatus;
	drill: boolean;
	restricted: boolean;
	services: BoardServiceRef[];
	detectedAt: Date;
	declaredAt: Date | null;
	/** The response started here (detection, else declaration): what "duration" counts from. */
	startedAt: Date;
	incidentManager: string | null;
	headOffice: HeadOfficeView;
	nextUpdateDueAt: Date | null;
	lastApproved: ApprovedLine | null;
	openRequests: number;
	canRequestUpdate: boolean;
}

export interface HealthView extends BoardServiceRef {
	criticality: 'critical' | 'high' | 'medium' | 'low';
	health: ServiceHealth;
	incidentIds: string[];
}

export interface CountView {
	count: number;
	byPriority: Record<Priority, number>;
	byService: (BoardServiceRef & { count: number })[];
	mtta: Mean;
	mttr: Mean;
}

/** The clock kinds the board reports attainment for (action items belong to the review, issue 8). */
export const SLA_KINDS = ['report_due', 'head_office_ack_due', 'member_ack_due', 'next_update_due'] as const satisfies readonly ClockKind[];
export type SlaKind = (typeof SLA_KINDS)[number];

export interface HistoryView {
	windowDays: HistoryWindow;
	since: Date;
	until: Date;
	service: CountView;
	drills: CountView;
	trend: TrendPoint[];
	sla: Record<SlaKind, Attainment>;
}

export interface BoardData {
	generatedAt: Date;
	/** Real incidents, most urgent first. */
	incidents: BoardIncident[];
	/** Active drills, shown apart (they never turn the health grid red). */
	drills: BoardIncident[];
	health: HealthView[];
	history: HistoryView;
	/** How long before "next update due" the countdown warns. */
	warningLeadMs: number;
	windows: readonly HistoryWindow[];
	/** Overdue follow-up action items of incidents the viewer may see (none on share links). */
	overdueActions: { id: string; incidentNumber: string; title: string; ownerName: string | null; dueDate: string | null }[];
}

// ---------------------------------------------------------------------------------------------
// Sources of the communications shown on the board
// ---------------------------------------------------------------------------------------------

/**
 * Where the board reads approved status lines, next-update deadlines and the head-office state. The
 * defaults read the escalation feature's tables (`communications`, `head_office_acks`,
 * `escalation_policy`) directly and evaluate its domain clocks; tests and a later escalation service
 * can pass their own. Every source answers for a batch of incident ids (one query per batch, not per
 * incident: the board shows up to hundreds).
 */
export interface BoardSources {
	lastApprovedLines(ctx: AppContext, incidentIds: readonly string[]): Promise<Map<string, ApprovedLine>>;
	nextUpdateDue(ctx: AppContext, incidentIds: readonly string[]): Promise<Map<string, Date | null>>;
	headOffice(ctx: AppContext, incidentIds: readonly string[]): Promise<Map<string, HeadOfficeView>>;
	policy(ctx: AppContext): Promise<EscalationPolicy>;
}

/**
 * The escalation feature's clock evaluation of each incident (one `evaluateIncident` each, run side by
 * side). `nextUpdateDue` and `headOffice` ask for the same ids in the same breath; sharing the
 * in-flight promise evaluates each incident once per board build.
 */
const inflightEvaluations = new WeakMap<AppContext, Map<string, Promise<Map<string, IncidentClocks>>>>();

function evaluateMany(ctx: AppContext, incidentIds: readonly string[]): Promise<Map<string, IncidentClocks>> {
	let inflight = inflightEvaluations.get(ctx);
	if (!inflight) inflightEvaluations.set(ctx, (inflight = new Map()));
	const key = incidentIds.join(',');
	const running = inflight.get(key);
	if (running) return running;
	const table = inflight;
	const promise = (async () => {
		const rows = await boardRepo.incidentRows(ctx.db, incidentIds);
		const now = ctx.now();
		const evaluated = await Promise.all(rows.map(async (row) => [row.id, await evaluateIncident(ctx, row, now)] as const));
		return new Map(evaluated);
	})().finally(() => table.delete(key));
	table.set(key, promise);
	return promise;
}

/**
 * Wired to the escalation feature (issue 6): approved lines from `escalation.lastApprovedStatusLines`
 * (the headline of the newest approved status update), deadlines and the head-office requirement from
 * `clocks.evaluateIncident` (the same evaluation as the war room's escalation panel, playbook rules and
 * priority raises included), the policy from `escalation.getPolicy`.
 */
export const defaultBoardSources: BoardSources = {
	async lastApprovedLines(ctx, incidentIds) {
		const out = new Map<string, ApprovedLine>();
		if (incidentIds.length === 0) return out;
		for (const [id, v] of await escalation.lastApprovedStatusLines(ctx, incidentIds)) {
			// An approved update without a headline has no line to show; the board says "none yet".
			if (!v.headline['zh-CN'] && !v.headline.en) continue;
			const line = { 'zh-CN': v.headline['zh-CN'] || v.headline.en, en: v.headline.en || v.headline['zh-CN'] };
			out.set(id, { communicationId: v.communicationId, line, approvedAt: v.approvedAt });
		}
		return out;
	},

	async nextUpdateDue(ctx, incidentIds) {
		const out = new Map<string, Date | null>();
		if (incidentIds.length === 0) return out;
		for (const [id, { evaluation }] of await evaluateMany(ctx, incidentIds))
			out.set(id, evaluation.clocks.find((c) => c.kind === 'next_update_due')?.dueAt ?? null);
		return out;
	},

	async headOffice(ctx, incidentIds) {
		const out = new Map<string, HeadOfficeView>();
		if (incidentIds.length === 0) return out;
		const [evaluations, reports] = await Promise.all([evaluateMany(ctx, incidentIds), boardRepo.lastSentReports(ctx.db, incidentIds)]);
		const byIncident = new Map(reports.map((r) => [r.incident_id, r]));
		for (const id of incidentIds) {
			const evaluation = evaluations.get(id)?.evaluation;
			if (!evaluation) continue;
			const r = byIncident.get(id);
			out.set(id, {
				required: evaluation.mustEscalateToHeadOffice,
				level: r ? 'head_office' : 'regional',
				reportsSent: r?.reports_sent ?? 0,
				lastReport: r ? { kind: r.report_kind, sequence: r.sequence, sentAt: r.sent_at, acknowledgedAt: r.acked_at } : null
			});
		}
		return out;
	},

	async policy(ctx) {
		return (await escalation.getPolicy(ctx)).policy;
	}
};

// ---------------------------------------------------------------------------------------------
// Reading the board
// ---------------------------------------------------------------------------------------------

/** Who the board is for: a signed-in user, or a share link (no restricted incident, no requests). */
type Audience = { kind: 'user'; actor: Actor } | { kind: 'share' };

function restrictedScope(audience: Audience): 'none' | 'all' | { memberUserId: string } {
	if (audience.kind === 'share') return 'none';
	const a = audience.actor;
	if (a.kind === 'system' || a.globalRole === 'system' || a.globalRole === 'admin') return 'all';
	return a.userId ? { memberUserId: a.userId } : 'none';
}

function cacheKeyOf(audience: Audience, window: HistoryWindow): string {
	const scope = restrictedScope(audience);
	// Users without restricted memberships share the non-restricted history; members get their own key.
	return `${window}:${typeof scope === 'string' ? scope : `member:${scope.memberUserId}`}`;
}

const PRIORITY_RANK = Object.fromEntries(PRIORITIES.map((p, i) => [p, i])) as Record<Priority, number>;

function byUrgency(a: BoardIncident, b: BoardIncident): number {
	return (
		PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] ||
		a.startedAt.getTime() - b.startedAt.getTime() ||
		a.number.localeCompare(b.number)
	);
}

async function activeIncidents(ctx: AppContext, audience: Audience): Promise<Result<IncidentSummary[]>> {
	const r =
		audience.kind === 'share'
			? await listIncidents(ctx, SYSTEM_ACTOR, { status: 'active', restricted: false, limit: BOARD_MAX_INCIDENTS })
			: await listIncidents(ctx, audience.actor, { status: 'active', limit: BOARD_MAX_INCIDENTS });
	if (!r.ok) return err({ code: r.error.code, message: r.error.message });
	// Belt and braces for share links: the filter above already excludes restricted incidents.
	return ok(audience.kind === 'share' ? r.value.filter((i) => !i.restricted) : r.value);
}

async function buildBoard(
	ctx: AppContext,
	audience: Audience,
	opts: { window: HistoryWindow; sources: BoardSources }
): Promise<Result<BoardData>> {
	const active = await activeIncidents(ctx, audience);
	if (!active.ok) return active;
	const summaries = active.value;
	const ids = summaries.map((i) => i.id);
	const { sources } = opts;
	const [extras, services, policy, history] = await Promise.all([
		extrasFor(ctx, ids, sources),
		listServices(ctx),
		sources.policy(ctx),
		historyFor(ctx, audience, opts.window, sources)
	]);
	const canRequest = audience.kind === 'user' && audience.actor.kind === 'user';
	const views: BoardIncident[] = summaries.map((i) => {
		const x = extras.get(i.id);
		return {
			id: i.id,
			number: i.number,
			title: i.title,
			priority: i.priority,
			impact: i.impact,
			status: i.status,
			drill: i.drill,
			restricted: i.restricted,
			services: i.services.map((s) => ({ id: s.id, code: s.code, nameZh: s.nameZh, nameEn: s.nameEn })),
			detectedAt: i.detectedAt,
			declaredAt: i.declaredAt,
			startedAt: i.detectedAt ?? i.declaredAt ?? i.createdAt,
			incidentManager: i.incidentManager?.displayName ?? null,
			headOffice: x?.headOffice ?? { required: false, level: 'regional', reportsSent: 0, lastReport: null },
			nextUpdateDueAt: x?.due ?? null,
			lastApproved: x?.line ?? null,
			openRequests: x?.openRequests ?? 0,
			// Every global role may request an update on an incident it can see (permissions.ts).
			canRequestUpdate: canRequest
		};
	});
	const health = serviceHealth({
		services,
		activeIncidents: summaries.map((i) => ({
			id: i.id,
			priority: i.priority,
			impact: i.impact,
			drill: i.drill,
			status: i.status,
			serviceIds: i.services.map((s) => s.id)
		}))
	});
	const serviceById = new Map(services.map((s) => [s.id, s]));
	return ok({
		generatedAt: ctx.now(),
		incidents: views.filter((v) => !v.drill).sort(byUrgency),
		drills: views.filter((v) => v.drill).sort(byUrgency),
		health: health.map((h) => {
			const s = serviceById.get(h.serviceId)!;
			return {
				id: s.id,
				code: s.code,
				nameZh: s.name_zh,
				nameEn: s.name_en,
				criticality: s.criticality,
				health: h.health,
				incidentIds: h.incidentIds
			};
		}),
		history,
		warningLeadMs: policy.warningLeadMinutes * MINUTE_MS,
		windows: HISTORY_WINDOWS,
		// Filled per viewer in getBoard (not cached: action items change without board events); none on share links.
		overdueActions: []
	});
}

/** The board for a signed-in user: only what they may see. */
export async function getBoard(
	ctx: AppContext,
	actor: Actor,
	opts: { window?: unknown; sources?: BoardSources } = {}
): Promise<Result<BoardData>> {
	if (actor.kind !== 'system' && actor.globalRole !== 'system') {
		if (!actor.userId) return err({ code: 'unauthenticated', message: 'Sign in to see the board' });
		if (actor.scopes) return err({ code: 'forbidden', message: 'The board is not available to API tokens' });
	}
	const board = await cachedBoard(
		ctx,
		{ kind: 'user', actor },
		{ window: parseHistoryWindow(opts.window), sources: opts.sources ?? defaultBoardSources }
	);
	if (!board.ok) return board;
	const overdue = await listOpenActionItems(ctx, actor, { scope: 'overdue' });
	return ok({
		...board.value,
		overdueActions: overdue.ok
			? overdue.value.items.map((a) => ({
					id: a.id,
					incidentNumber: a.incidentNumber,
					title: a.title,
					ownerName: a.ownerName,
					dueDate: a.dueDate
				}))
			: []
	});
}

function cachedBoard(
	ctx: AppContext,
	audience: Audience,
	opts: { window: HistoryWindow; sources: BoardSources }
): Promise<Result<BoardData>> {
	if (opts.sources !== defaultBoardSources) return buildBoard(ctx, audience, opts);
	const { boards } = caches(ctx);
	// Per user (their memberships and role decide what they see), not per role.
	const who = audience.kind === 'share' ? 'share' : audience.actor.userId ? `user:${audience.actor.userId}` : 'system';
	if (boards.size >= BOARD_CACHE_MAX_ENTRIES) boards.clear();
	return remember(boards, `${who}:${opts.window}`, BOARD_CACHE_MS, () => buildBoard(ctx, audience, opts));
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

const DAY_MS = 24 * 60 * 60_000;

interface Cached<T> {
	at: number;
	value: Promise<T>;
}

interface IncidentExtras {
	line: ApprovedLine | null;
	due: Date | null;
	headOffice: HeadOfficeView | undefined;
	openRequests: number;
}

interface BoardCaches {
	boards: Map<string, Cached<Result<BoardData>>>;
	history: Map<string, Cached<HistoryView>>;
	/** Per incident id: shared by every audience that may see the incident. */
	extras: Map<string, Cached<IncidentExtras>>;
}

/** Per context (one per process; one per test database). */
const cachesByContext = new WeakMap<AppContext, BoardCaches>();

function caches(ctx: AppContext): BoardCaches {
	let c = cachesByContext.get(ctx);
	if (!c) {
		const fresh: BoardCaches = { boards: new Map(), history: new Map(), extras: new Map() };
		c = fresh;
		cachesByContext.set(ctx, fresh);
		ctx.events.subscribe((e: AppEvent) => {
			if (e.type === 'incident.changed' || e.type === 'board.changed' || e.type === 'membership.changed') {
				fresh.boards.clear();
				fresh.history.clear();
				if (e.incidentId) fresh.extras.delete(e.incidentId);
				else fresh.extras.clear();
			} else if (e.type === 'events.missed') {
				fresh.boards.clear();
				fresh.history.clear();
				fresh.extras.clear();
			} else if (e.type === 'user.changed' || e.type === 'sessions.ended') {
				// A role change or a disabled account changes what that user may see.
				fresh.boards.clear();
				fresh.history.clear();
			}
		});
	}
	return c;
}

/** A cached promise, or a fresh one stored until it fails or `maxAgeMs` passes. */
function remember<T>(map: Map<string, Cached<T>>, key: string, maxAgeMs: number, compute: () => Promise<T>): Promise<T> {
	const now = Date.now();
	const hit = map.get(key);
	if (hit && now - hit.at < maxAgeMs) return hit.value;
	const value = compute();
	map.set(key, { at: now, value });
	// A failed computation must not be served from the cache.
	value.catch(() => map.get(key)?.value === value && map.delete(key));
	return value;
}

async function computeExtras(ctx: AppContext, ids: readonly string[], sources: BoardSources): Promise<Map<string, IncidentExtras>> {
	const [lines, due, headOffice, requests] = await Promise.all([
		sources.lastApprovedLines(ctx, ids),
		sources.nextUpdateDue(ctx, ids),
		sources.headOffice(ctx, ids),
		boardRepo.openRequestCounts(ctx.db, ids)
	]);
	return new Map(
		ids.map((id) => [
			id,
			{ line: lines.get(id) ?? null, due: due.get(id) ?? null, headOffice: headOffice.get(id), openRequests: requests.get(id) ?? 0 }
		])
	);
}

/** The escalation facts of each incident: cached per incident, the missing ones fetched in one batch. */
async function extrasFor(ctx: AppContext, ids: readonly string[], sources: BoardSources): Promise<Map<string, IncidentExtras>> {
	// Only the default sources are cached: injected ones (tests, another feature) are read every time.
	if (sources !== defaultBoardSources) return computeExtras(ctx, ids, sources);
	const { extras } = caches(ctx);
	const now = Date.now();
	const missing = ids.filter((id) => {
		const hit = extras.get(id);
		return !hit || now - hit.at >= BOARD_CACHE_MS;
	});
	if (missing.length) {
		const batch = computeExtras(ctx, missing, sources);
		for (const id of missing) {
			const value = batch.then((m) => m.get(id)!);
			extras.set(id, { at: now, value });
			value.catch(() => extras.get(id)?.value === value && extras.delete(id));
		}
	}
	const values = await Promise.all(ids.map((id) => extras.get(id)?.value ?? computeExtras(ctx, [id], sources).then((m) => m.get(id)!)));
	return new Map(ids.map((id, i) => [id, values[i]!]));
}

function historyFor(ctx: AppContext, audience: Audience, window: HistoryWindow, sources: BoardSources): Promise<HistoryView> {
	if (sources !== defaultBoardSources) return computeHistory(ctx, audience, window, sources);
	return remember(caches(ctx).history, cacheKeyOf(audience, window), HISTORY_CACHE_MS, () =>
		computeHistory(ctx, audience, window, sources)
	);
}

function countView(summary: ReturnType<typeof incidentMetrics>['service'], services: Map<string, BoardServiceRef>): CountView {
	return {
		count: summary.count,
		byPriority: summary.byPriority,
		byService: Object.entries(summary.byService)
			.map(([id, count]) => {
				const s = services.get(id);
				return { id, code: s?.code ?? id, nameZh: s?.nameZh ?? id, nameEn: s?.nameEn ?? id, count };
			})
			.sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
		mtta: summary.mtta,
		mttr: summary.mttr
	};
}

async function computeHistory(ctx: AppContext, audience: Audience, window: HistoryWindow, sources: BoardSources): Promise<HistoryView> {
	const until = ctx.now();
	const since = new Date(until.getTime() - window * DAY_MS);
	const [incidents, catalogue, policy] = await Promise.all([
		boardRepo.historyIncidents(ctx.db, { since, until, restricted: restrictedScope(audience) }),
		listServices(ctx),
		sources.policy(ctx)
	]);
	const services = new Map(catalogue.map((s) => [s.id, { id: s.id, code: s.code, nameZh: s.name_zh, nameEn: s.name_en }]));
	const metrics = incidentMetrics(
		incidents.map((i) => ({
			id: i.id,
			priority: i.priority,
			drill: i.drill,
			serviceIds: i.service_ids,
			detectedAt: i.detected_at,
			declaredAt: i.declared_at,
			firstAckAt: i.first_acked_at,
			mitigatedAt: i.mitigated_at,
			resolvedAt: i.resolved_at
		}))
	);
	const trend = weeklyTrend({
		incidents: incidents.map((i) => ({
			drill: i.drill,
			detectedAt: i.detected_at,
			declaredAt: i.declared_at,
			firstAckAt: i.first_acked_at,
			resolvedAt: i.resolved_at
		})),
		since,
		now: until
	});
	const sla = await slaFor(
		ctx,
		incidents.filter((i) => !i.drill),
		policy,
		until
	);
	return {
		windowDays: window,
		since,
		until,
		service: countView(metrics.service, services),
		drills: countView(metrics.drills, services),
		trend,
		sla
	};
}

/**
 * SLA attainment of the clocks over the window's real incidents (drills are left out by the caller):
 * - report, head-office acknowledgement and member acknowledgement clocks are evaluated from the facts
 *   (sent reports and their acknowledgements, pages and their acknowledgements) with the domain's
 *   `evaluatePolicy`, so met, breached and still-running clocks are all counted;
 * - the rolling "next update due" clock leaves no row when met, so it is counted from what it leaves:
 *   each breach the escalation job recorded in `clock_breaches` is one missed deadline; each approved
 *   status update is one delivered, on time unless it closed a recorded breach (`met_at`); an active
 *   incident's running clock is pending.
 */
async function slaFor(
	ctx: AppContext,
	incidents: readonly boardRepo.HistoryIncident[],
	policy: EscalationPolicy,
	now: Date
): Promise<Record<SlaKind, Attainment>> {
	const ids = incidents.map((i) => i.id);
	const [facts, clockFacts] = await Promise.all([boardRepo.incidentFacts(ctx.db, ids), boardRepo.clockFacts(ctx.db, ids)]);
	const group = <T extends { incident_id: string }>(rows: readonly T[]) => {
		const m = new Map<string, T[]>();
		for (const r of rows) m.set(r.incident_id, [...(m.get(r.incident_id) ?? []), r]);
		return m;
	};
	const reports = group(clockFacts.reports);
	const pages = group(clockFacts.pages);
	const approved = group(clockFacts.approvedUpdates);
	const clocks: { kind: ClockKind; state: 'ok' | 'warning' | 'breached' | 'met' }[] = [];
	for (const incident of incidents) {
		const f = facts.get(incident.id);
		if (!f) continue;
		const updates = approved.get(incident.id) ?? [];
		const lastApprovedUpdateAt = updates.reduce<Date | null>((a, u) => (!a || u.approved_at > a ? u.approved_at : a), null);
		const evaluation = evaluatePolicy({
			incident: {
				priority: f.priority,
				declaredAt: f.declared_at,
				regions: f.regions,
				drill: f.drill,
				status: f.status,
				reopenedAt: f.reopened_at
			},
			policy,
			reports: (reports.get(incident.id) ?? []).map((r) => ({
				id: r.id,
				kind: r.report_kind ?? 'progress',
				sentAt: r.sent_at,
				ackedAt: r.acked_at
			})),
			lastApprovedUpdateAt,
			members: (pages.get(incident.id) ?? []).map((p) => ({ id: p.user_id, pagedAt: p.paged_at, ackedAt: p.acked_at })),
			now
		});
		for (const c of evaluation.clocks) {
			if (c.kind === 'report_due' || c.kind === 'head_office_ack_due' || c.kind === 'member_ack_due')
				clocks.push({ kind: c.kind, state: c.state });
			// A running update clock that is not yet late is pending; a late one is in clock_breaches.
			else if (c.kind === 'next_update_due' && (c.state === 'ok' || c.state === 'warning')) clocks.push({ kind: c.kind, state: c.state });
		}
		const breaches = clockFacts.breaches.filter((b) => b.incident_id === incident.id && b.clock_kind === 'next_update_due');
		const late = breaches.filter((b) => b.met_at !== null).length;
		for (let i = 0; i < breaches.length; i++) clocks.push({ kind: 'next_update_due', state: 'breached' });
		for (let i = 0; i < Math.max(0, updates.length - late); i++) clocks.push({ kind: 'next_update_due', state: 'met' });
	}
	const all = slaAttainment(clocks);
	return Object.fromEntries(SLA_KINDS.map((k) => [k, all[k]])) as Record<SlaKind, Attainment>;
}

// ---------------------------------------------------------------------------------------------
// Request an update
// ---------------------------------------------------------------------------------------------

export interface UpdateRequestOutcome {
	requestId: string;
	/** False when the same person asked moments ago: nothing new was recorded or sent. */
	created: boolean;
}

/**
 * A viewer's one-click "please send an update" from the board — instead of a phone call to the war
 * room. Only on active incidents. The request itself is the escalation feature's
 * `escalation.requestUpdate` (kind `update`): one list with head office's requests, so the next
 * approved update answers both; it is audited, pinned on the incident's timeline and sent to the
 * incident manager, deputy and communications lead. The board adds two things: a second click by the
 * same person within `REQUEST_REPEAT_WINDOW_MS` records and sends nothing (executives double-click,
 * and a war room does not need two pings), and the board refreshes so the open-request count shows.
 */
export async function requestUpdate(
	ctx: AppContext,
	actor: Actor,
	input: { incidentId: unknown; text?: unknown }
): Promise<Result<UpdateRequestOutcome, ValidationFailure>> {
	const loaded = await loadFor(ctx, actor, { ref: input.incidentId, operation: 'request_update' });
	if (!loaded.ok) return loaded;
	const incident = loaded.value.incident;
	if (!isActiveStatus(incident.status))
		return err({
			code: 'not_active',
			message: `Updates can be requested only while the incident is active (it is ${incident.status})`,
			params: { status: incident.status }
		});
	const note = text('text', input.text, { max: escalation.REQUEST_MAX_CHARS, multiline: true });
	if (isError(note)) return err({ code: 'invalid', message: note.message, errors: [note] });

	if (actor.userId) {
		const previous = await boardRepo.lastOpenRequestBy(ctx.db, { incidentId: incident.id, userId: actor.userId });
		if (previous && ctx.now().getTime() - previous.requested_at.getTime() < REQUEST_REPEAT_WINDOW_MS)
			return ok({ requestId: previous.id, created: false });
	}
	const r = await escalation.requestUpdate(ctx, actor, { incidentId: incident.id, kind: 'update', text: note ?? '' });
	if (!r.ok) return r;
	return ok({ requestId: r.value.id, created: true });
}

// ---------------------------------------------------------------------------------------------
// Share links
// ---------------------------------------------------------------------------------------------

export interface ShareLinkView {
	id: string;
	label: string;
	expiresAt: Date;
	revokedAt: Date | null;
	createdAt: Date;
	createdBy: string | null;
	state: 'active' | 'expired' | 'revoked';
}

function canManageLinks(actor: Actor): DomainError | null {
	if (actor.kind === 'system' || actor.globalRole === 'system' || actor.globalRole === 'admin' || actor.globalRole === 'manager')
		return null;
	return { code: 'forbidden', message: 'Only managers and administrators can manage share links', params: { reason: 'role' } };
}

function linkState(row: { expires_at: Date; revoked_at: Date | null }, now: Date): ShareLinkView['state'] {
	if (row.revoked_at) return 'revoked';
	return row.expires_at.getTime() <= now.getTime() ? 'expired' : 'active';
}

export async function listShareLinks(ctx: AppContext, actor: Actor): Promise<Result<ShareLinkView[]>> {
	const denied = canManageLinks(actor);
	if (denied) return err(denied);
	const now = ctx.now();
	const rows = await boardRepo.listShareLinks(ctx.db, { limit: SHARE_LIST_LIMIT });
	return ok(
		rows.map((r) => ({
			id: r.id,
			label: r.label,
			expiresAt: r.expires_at,
			revokedAt: r.revoked_at,
			createdAt: r.created_at,
			createdBy: r.created_by_name ?? null,
			state: linkState(r, now)
		}))
	);
}

/**
 * A read-only link to the board for someone without an account. The token (`id.secret`, the secret
 * stored only as its SHA-256) is returned once. Every link expires, after `expiresInHours` (1 h to 30
 * days, default 24 h).
 */
export async function createShareLink(
	ctx: AppContext,
	actor: Actor,
	input: { label?: unknown; expiresInHours?: unknown }
): Promise<Result<{ token: string; link: ShareLinkView }, ValidationFailure>> {
	const denied = canManageLinks(actor);
	if (denied) return err(denied);
	const errors: DomainError[] = [];
	const label = text('label', input.label, { required: true, max: SHARE_LABEL_MAX_CHARS });
	if (isError(label)) errors.push(label);
	const rawHours = input.expiresInHours === undefined || input.expiresInHours === '' ? SHARE_DEFAULT_HOURS : Number(input.expiresInHours);
	if (!Number.isInteger(rawHours) || rawHours < SHARE_MIN_HOURS || rawHours > SHARE_MAX_HOURS)
		errors.push({
			code: 'invalid_value',
			message: `expiresInHours must be a whole number of hours from ${SHARE_MIN_HOURS} to ${SHARE_MAX_HOURS}`,
			field: 'expiresInHours',
			params: { min: SHARE_MIN_HOURS, max: SHARE_MAX_HOURS }
		});
	if (errors.length || typeof label !== 'string') return err({ code: 'invalid', message: errors.map((e) => e.message).join('; '), errors });
	const now = ctx.now();
	const expiresAt = new Date(now.getTime() + rawHours * 60 * 60_000);
	const t = newToken();
	const row = await ctx.db.transaction().execute(async (trx) => {
		const inserted = await boardRepo.insertShareLink(trx, {
			id: t.id,
			secretHash: t.secretHash,
			createdBy: actor.userId,
			label,
			expiresAt,
			at: now
		});
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'board.share_link_created',
			subjectType: 'share_link',
			subjectId: t.id,
			after: { label, expiresAt: expiresAt.toISOString() },
			at: now
		});
		return inserted;
	});
	return ok({
		token: t.token,
		link: {
			id: row.id,
			label: row.label,
			expiresAt: row.expires_at,
			revokedAt: null,
			createdAt: row.created_at,
			createdBy: actor.displayName,
			state: 'active'
		}
	});
}

export async function revokeShareLink(ctx: AppContext, actor: Actor, input: { id: unknown }): Promise<Result<true>> {
	const denied = canManageLinks(actor);
	if (denied) return err(denied);
	if (typeof input.id !== 'string' || input.id.length === 0 || input.id.length > 64)
		return err({ code: 'not_found', message: 'No such share link' });
	const now = ctx.now();
	const revoked = await ctx.db.transaction().execute(async (trx) => {
		const done = await boardRepo.revokeShareLink(trx, { id: input.id as string, at: now });
		if (done)
			await audit.record(trx, {
				actorId: actor.userId,
				action: 'board.share_link_revoked',
				subjectType: 'share_link',
				subjectId: input.id as string,
				at: now
			});
		return done;
	});
	if (!revoked) {
		const row = await boardRepo.findShareLink(ctx.db, input.id);
		if (!row) return err({ code: 'not_found', message: 'No such share link' });
		// Revoking twice is not an error: the link is off either way.
	}
	// Open shared boards re-check their link on the next refresh and go away.
	ctx.events.publish({ type: 'board.changed', incidentId: null });
	return ok(true);
}

/**
 * The link behind a token, if it is well-formed, known, not revoked and not expired. Every failure is
 * the same `not_found`, so a guesser learns nothing about which links exist.
 */
export async function resolveShareLink(ctx: AppContext, token: unknown): Promise<Result<{ id: string; label: string; expiresAt: Date }>> {
	const notFound = err({ code: 'not_found', message: 'This link is unknown, expired or revoked' });
	const parsed = parseToken(typeof token === 'string' ? token : null);
	if (!parsed) return notFound;
	const row = await boardRepo.findShareLink(ctx.db, parsed.id);
	if (!row || !secretMatches(parsed.secret, row.secret_hash)) return notFound;
	if (linkState(row, ctx.now()) !== 'active') return notFound;
	return ok({ id: row.id, label: row.label, expiresAt: row.expires_at });
}

/** The board behind a share link: the same approved content, never a restricted incident. */
export async function getSharedBoard(
	ctx: AppContext,
	token: unknown,
	opts: { window?: unknown; sources?: BoardSources } = {}
): Promise<Result<{ link: { label: string; expiresAt: Date }; board: BoardData }>> {
	const link = await resolveShareLink(ctx, token);
	if (!link.ok) return link;
	const board = await cachedBoard(
		ctx,
		{ kind: 'share' },
		{ window: parseHistoryWindow(opts.window), sources: opts.sources ?? defaultBoardSources }
	);
	if (!board.ok) return board;
	return ok({ link: { label: link.value.label, expiresAt: link.value.expiresAt }, board: board.value });
}
