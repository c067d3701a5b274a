/**
 * Reports to head office (issue 6) and stakeholder status updates (issue 7): one approval machine for
 * both kinds of communication.
 *
 *   draft ──submit──▶ submitted ──approve──▶ approved (frozen: content hash in the audit chain) ──deliver──▶ sent
 *     ▲                   │
 *     └──edit── returned ◀┘ return with comments
 *
 * - A draft is prefilled from the incident's facts and the pinned entries of its live timeline (the
 *   fields of DOMAIN.md "What a report to head office contains"); status updates from the playbook's
 *   `internal_update` template when one is loaded. The text is bilingual and editable until submitted;
 *   every saved edit is a revision, and every communication shows its diff against the one before.
 * - Four eyes: nobody approves what they drafted or edited. In an emergency the incident manager (or a
 *   manager/admin, who hold `override_approval`) may, with a reason; the override is stored, audited,
 *   put in the timeline and shown on every screen that shows the report.
 * - Approval freezes the content (sha256 of its canonical JSON, recorded in the audit event) and then
 *   delivers it. Delivery is a separate, idempotent step (`deliverApproved`) so a crash between the
 *   two is caught up by the escalation-clocks job: it finds `approved` rows and delivers them.
 * - Head office acknowledges a report, asks for an update or asks a question; each comes back into
 *   the war room as a timeline entry and a notification to the incident manager and communications
 *   lead.
 */
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import * as Y from 'yjs';
import {
	DEFAULT_ESCALATION_POLICY,
	mergePolicies,
	validatePolicyRules,
	type EscalationPolicy,
	type PolicyRules
} from '../../domain/escalation-policy';
import type { IncidentStatus } from '../../domain/incident-status';
import { isActiveStatus } from '../../domain/incident-status';
import type { Operation } from '../../domain/permissions';
import type { CommunicationTemplate, Playbook } from '../../domain/playbook-schema';
import { renderTemplate, type Placeholder } from '../../domain/playbook-template';
import type { Priority } from '../../domain/priority';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import { diffText, type DiffOp } from '../../domain/text-diff';
import { translate, type Locale, type Params } from '../../i18n/index';
import type { Actor, AppContext } from '../context';
import type { CommunicationRow, IncidentRow } from '../db/schema';
import * as commsRepo from '../repositories/communications.repository';
import * as escalationRepo from '../repositories/escalation.repository';
import * as membersRepo from '../repositories/incident-members.repository';
import * as incidentsRepo from '../repositories/incidents.repository';
import * as orgUnitsRepo from '../repositories/org-units.repository';
import * as usersRepo from '../repositories/users.repository';
import * as audit from './audit.service';
import { afterCommit, denial, loadFor, notify, notFound, type Bilingual } from './incident.service';
import type { ValidationFailure } from './users.service';
import { isError, text } from './validate';

// ---------------------------------------------------------------------------------------------
// Shapes and limits
// ---------------------------------------------------------------------------------------------

export type CommunicationKind = commsRepo.CommunicationKind;
export type CommunicationState = commsRepo.CommunicationState;
export type ReportKind = 'initial' | 'progress' | 'final';
export const REPORT_KINDS: readonly ReportKind[] = ['initial', 'progress', 'final'];
export const COMMUNICATION_KINDS: readonly CommunicationKind[] = ['head_office_report', 'status_update'];

/** The free-text fields of a report to head office, each in zh-CN and en. */
export const REPORT_TEXT_FIELDS = ['title', 'impact', 'currentStatus', 'actionsTaken', 'nextSteps', 'eta', 'contact'] as const;
/** A status update: a one-line headline (shown on the board) and a body. */
export const STATUS_TEXT_FIELDS = ['headline', 'body'] as const;
export type TextField = (typeof REPORT_TEXT_FIELDS)[number] | (typeof STATUS_TEXT_FIELDS)[number];

export const FIELD_MAX_CHARS: Readonly<Record<TextField, number>> = {
	title: 200,
	impact: 4_000,
	currentStatus: 4_000,
	actionsTaken: 8_000,
	nextSteps: 4_000,
	eta: 500,
	contact: 500,
	headline: 200,
	body: 4_000
};
export const COMMENT_MAX_CHARS = 2_000;
export const REQUEST_MAX_CHARS = 2_000;
export const INBOX_MAX = 200;
/** Pinned timeline entries taken into a draft's "actions taken" (the latest ones). */
const DRAFT_TIMELINE_ENTRIES_MAX = 30;

/** Facts taken from the incident when the draft was made (refreshed on each edit while editable). */
export interface ReportFacts {
	number: string;
	priority: Priority;
	status: IncidentStatus;
	drill: boolean;
	/** The earliest time we know of (detection), ISO. */
	detectedAt: string;
	declaredAt: string | null;
	services: { code: string; nameZh: string; nameEn: string }[];
	regions: string[];
	/** When the next update will be sent (from the policy), ISO; null when none is due. */
	nextUpdateAt: string | null;
	inCharge: { name: string; phone: string | null; email: string | null } | null;
	/** Filled in when approved. */
	approver: { name: string; override: boolean } | null;
}

export interface CommunicationContent {
	facts: ReportFacts;
	text: Partial<Record<TextField, Bilingual>>;
}

export interface CommunicationEventView {
	action: string;
	actorName: string | null;
	comment: string | null;
	version: number;
	at: Date;
}

export interface CommunicationView {
	id: string;
	incidentId: string;
	kind: CommunicationKind;
	reportKind: ReportKind | null;
	sequence: number;
	state: CommunicationState;
	content: CommunicationContent;
	version: number;
	draftedBy: { userId: string; name: string } | null;
	submittedAt: Date | null;
	approvedBy: { userId: string; name: string } | null;
	approvedAt: Date | null;
	/** Set when approved by its own author in an emergency: show it wherever the report shows. */
	overrideReason: string | null;
	returnComment: string | null;
	returnedAt: Date | null;
	contentHash: string | null;
	sentAt: Date | null;
	createdAt: Date;
	acks: { userId: string; name: string; at: Date }[];
	events: CommunicationEventView[];
	/** Diff of the rendered text (per language) against the previous communication of the same kind. */
	diff: Record<Locale, DiffOp[]>;
	/** Diffs between consecutive revisions of this one (revision n against n-1). */
	revisions: { version: number; editedAt: Date; editorName: string | null; diff: Record<Locale, DiffOp[]> }[];
}

export interface UpdateRequestView {
	id: string;
	kind: 'update' | 'question';
	text: string;
	requestedBy: string | null;
	requestedAt: Date;
	answeredAt: Date | null;
	communicationId: string | null;
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function bi(key: string, params: Params = {}): Bilingual {
	return { 'zh-CN': translate('zh-CN', key, params), en: translate('en', key, params) };
}

function invalid(errors: DomainError[]): { ok: false; error: ValidationFailure } {
	return err({ code: 'invalid', message: errors.map((e) => e.message).join('; '), errors });
}

function conflict(message: string, params?: Record<string, string | number>): DomainError {
	return params ? { code: 'conflict', message, params } : { code: 'conflict', message };
}

function forbidden(message: string, reason: string): DomainError {
	return { code: 'forbidden', message, params: { reason } };
}

export function contentHash(content: CommunicationContent): string {
	return encodeHexLowerCase(sha256(new TextEncoder().encode(audit.canonicalJson(content))));
}

function fmtTime(iso: string | Date | null, opts: { locale: Locale; timeZone: string }): string {
	if (!iso) return '—';
	const d = typeof iso === 'string' ? new Date(iso) : iso;
	const parts = new Intl.DateTimeFormat('en-CA', {
		timeZone: opts.timeZone,
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		hourCycle: 'h23'
	}).formatToParts(d);
	const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
	return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

const kindOperations: Record<CommunicationKind, { draft: Operation; approve: Operation }> = {
	head_office_report: { draft: 'draft_report', approve: 'approve_report' },
	status_update: { draft: 'write_status_update', approve: 'approve_status_update' }
};

function fieldsOf(kind: CommunicationKind): readonly TextField[] {
	return kind === 'head_office_report' ? REPORT_TEXT_FIELDS : STATUS_TEXT_FIELDS;
}

function parseContent(row: Pick<CommunicationRow, 'content'>): CommunicationContent {
	const c = (typeof row.content === 'string' ? JSON.parse(row.content) : row.content) as CommunicationContent;
	return c;
}

/** The communication as plain text in one language: what the diff compares. */
export function renderPlain(content: CommunicationContent, opts: { kind: CommunicationKind; locale: Locale; timeZone: string }): string {
	const { facts } = content;
	const t = (k: string) => translate(opts.locale, k);
	const lines: string[] = [];
	if (opts.kind === 'head_office_report') {
		const services = facts.services.map((s) => `${s.code} ${opts.locale === 'en' ? s.nameEn : s.nameZh}`).join(', ');
		lines.push(`${t('report.field.number')}: ${facts.number}`, `${t('report.field.priority')}: ${facts.priority}`);
		lines.push(
			`${t('report.field.detectedAt')}: ${fmtTime(facts.detectedAt, opts)}`,
			`${t('report.field.declaredAt')}: ${fmtTime(facts.declaredAt, opts)}`
		);
		lines.push(`${t('report.field.services')}: ${services || '—'}`);
		lines.push(`${t('report.field.nextUpdateAt')}: ${fmtTime(facts.nextUpdateAt, opts)}`);
		if (facts.inCharge)
			lines.push(
				`${t('report.field.inCharge')}: ${facts.inCharge.name} ${facts.inCharge.phone ?? ''} ${facts.inCharge.email ?? ''}`.trimEnd()
			);
	}
	for (const f of fieldsOf(opts.kind)) {
		const v = content.text[f]?.[opts.locale] ?? '';
		lines.push(`${t(`report.field.${f}`)}: ${v}`);
	}
	return lines.join('\n') + '\n';
}

function diffBoth(
	prev: CommunicationContent | null,
	cur: CommunicationContent,
	opts: { kind: CommunicationKind; timeZone: string }
): Record<Locale, DiffOp[]> {
	const one = (locale: Locale) => diffText(prev ? renderPlain(prev, { ...opts, locale }) : '', renderPlain(cur, { ...opts, locale }));
	return { 'zh-CN': one('zh-CN'), en: one('en') };
}

// ---------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------

/** The organisation's policy: the defaults with the admin's saved rules on top. */
export async function getPolicy(ctx: AppContext): Promise<{ policy: EscalationPolicy; rules: PolicyRules; updatedAt: Date | null }> {
	const row = await escalationRepo.findPolicy(ctx.db);
	const rules = (row ? (typeof row.rules === 'string' ? JSON.parse(row.rules) : row.rules) : {}) as PolicyRules;
	// Admin rules replace the defaults (an admin may loosen them, unlike a playbook, which may only
	// tighten — see mergePolicies); missing keys keep the defaults.
	const policy: EscalationPolicy = {
		...DEFAULT_ESCALATION_POLICY,
		...rules,
		headOfficeReportMinutes: rules.headOfficeReportMinutes ?? { ...DEFAULT_ESCALATION_POLICY.headOfficeReportMinutes },
		updateIntervalMinutes: rules.updateIntervalMinutes ?? { ...DEFAULT_ESCALATION_POLICY.updateIntervalMinutes }
	};
	return { policy, rules, updatedAt: row?.updated_at ?? null };
}

/** The policy for one incident: the organisation's, tightened by the escalation rules of its loaded playbooks. */
export async function policyForIncident(
	ctx: AppContext,
	incident: Pick<IncidentRow, 'id' | 'priority'>,
	regions: readonly string[]
): Promise<EscalationPolicy> {
	let { policy } = await getPolicy(ctx);
	const playbooks = (await escalationRepo.playbookSnapshots(ctx.db, incident.id)) as Playbook[];
	const multiRegion = new Set(regions).size > 1;
	for (const pb of playbooks) {
		for (const rule of pb.escalation ?? []) {
			if (rule.when.priority && !rule.when.priority.includes(incident.priority)) continue;
			if (rule.when.multiRegion !== undefined && rule.when.multiRegion !== multiRegion) continue;
			policy = mergePolicies(policy, {
				headOfficeReportMinutes: { [incident.priority]: rule.reportWithinMinutes },
				updateIntervalMinutes: { [incident.priority]: rule.updateEveryMinutes }
			});
		}
	}
	return policy;
}

/**
 * Saves the organisation's rules (admins only). `rules` is a partial policy; every duration is
 * checked (positive minutes, known priorities) and reported per field.
 */
export async function savePolicy(
	ctx: AppContext,
	actor: Actor,
	opts: { rules: unknown }
): Promise<Result<EscalationPolicy, ValidationFailure>> {
	if (actor.globalRole !== 'admin' && actor.kind !== 'system')
		return err(forbidden('Only administrators edit the escalation policy', 'role'));
	if (typeof opts.rules !== 'object' || opts.rules === null || Array.isArray(opts.rules))
		return invalid([{ code: 'invalid_type', message: 'rules must be an object', field: 'rules' }]);
	const known = new Set(Object.keys(DEFAULT_ESCALATION_POLICY));
	const unknown = Object.keys(opts.rules).filter((k) => !known.has(k));
	if (unknown.length) return invalid(unknown.map((k) => ({ code: 'invalid_value', message: `unknown policy rule ${k}`, field: k })));
	const rules = opts.rules as PolicyRules;
	const checked = validatePolicyRules(rules);
	if (!checked.ok) return invalid([checked.error]);
	if (rules.crossRegionToHeadOffice !== undefined && typeof rules.crossRegionToHeadOffice !== 'boolean')
		return invalid([{ code: 'invalid_type', message: 'crossRegionToHeadOffice must be true or false', field: 'crossRegionToHeadOffice' }]);
	const now = ctx.now();
	const before = await getPolicy(ctx);
	await ctx.db.transaction().execute(async (trx) => {
		await escalationRepo.savePolicy(trx, { rules, updatedBy: actor.userId, at: now });
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'escalation_policy.update',
			subjectType: 'escalation_policy',
			subjectId: '1',
			before: before.rules,
			after: rules,
			at: now
		});
	});
	return ok((await getPolicy(ctx)).policy);
}

// ---------------------------------------------------------------------------------------------
// Facts and drafting
// ---------------------------------------------------------------------------------------------

interface TimelineLine {
	at: string;
	kind: string;
	text: Bilingual;
}

/** Pinned, not deleted timeline entries, oldest first (empty when the collab module is not running). */
async function pinnedTimeline(ctx: AppContext, incidentId: string): Promise<TimelineLine[]> {
	if (!ctx.collab) return [];
	return ctx.collab.read(incidentId, (doc) => {
		const out: TimelineLine[] = [];
		for (const entry of doc.getArray<Y.Map<unknown>>('timeline').toArray()) {
			if (!(entry instanceof Y.Map)) continue;
			if (entry.get('pinned') !== true || entry.get('deletedAt')) continue;
			const t = entry.get('text');
			const plain = t instanceof Y.Text ? t.toString() : typeof t === 'string' ? t : '';
			const i18n = entry.get('i18n') as Partial<Bilingual> | undefined;
			out.push({
				at: String(entry.get('at') ?? ''),
				kind: String(entry.get('kind') ?? 'note'),
				// People write in one language; system entries carry both.
				text: { 'zh-CN': i18n?.['zh-CN'] ?? plain, en: i18n?.en ?? plain }
			});
		}
		return out.sort((a, b) => a.at.localeCompare(b.at)).slice(-DRAFT_TIMELINE_ENTRIES_MAX);
	});
}

async function incidentFacts(ctx: AppContext, incident: IncidentRow): Promise<{ facts: ReportFacts; policy: EscalationPolicy }> {
	const services = (await incidentsRepo.servicesOf(ctx.db, [incident.id])).get(incident.id) ?? [];
	const regions = [...new Set(services.flatMap((s) => s.regions))];
	const members = await membersRepo.listActive(ctx.db, [incident.id]);
	const im = members.find((m) => m.role === 'incident_manager');
	const policy = await policyForIncident(ctx, incident, regions);
	const interval = policy.updateIntervalMinutes[incident.priority];
	const nextUpdateAt =
		interval !== undefined && isActiveStatus(incident.status) ? new Date(ctx.now().getTime() + interval * 60_000).toISOString() : null;
	return {
		policy,
		facts: {
			number: incident.number,
			priority: incident.priority,
			status: incident.status,
			drill: incident.drill,
			detectedAt: incident.detected_at.toISOString(),
			declaredAt: incident.declared_at?.toISOString() ?? null,
			services: services.map((s) => ({ code: s.code, nameZh: s.name_zh, nameEn: s.name_en })),
			regions,
			nextUpdateAt,
			inCharge: im ? { name: im.display_name, phone: im.phone, email: im.email } : null,
			approver: null
		}
	};
}

function statusText(status: IncidentStatus): Bilingual {
	return bi(`status.${status}`);
}

/**
 * Who reports: the regional centre (or head office) above the incident manager's unit, for the
 * templates' {{organisation.name}}.
 */
async function reportingUnit(ctx: AppContext, incidentId: string): Promise<{ 'zh-CN': string; en: string } | undefined> {
	const im = (await membersRepo.listActive(ctx.db, [incidentId])).find((m) => m.role === 'incident_manager');
	const units = await orgUnitsRepo.list(ctx.db);
	const byId = new Map(units.map((u) => [u.id, u]));
	let unit = im?.org_unit_id ? byId.get(im.org_unit_id) : undefined;
	for (let hops = 0; unit && unit.kind === 'team' && hops < units.length; hops++)
		unit = unit.parent_id ? byId.get(unit.parent_id) : undefined;
	unit ??= units.find((u) => u.kind === 'head_office');
	return unit ? { 'zh-CN': unit.name_zh, en: unit.name_en } : undefined;
}

/** The playbook's template of a kind, if a loaded playbook has one (the first loaded wins). */
async function playbookTemplate(
	ctx: AppContext,
	incidentId: string,
	kind: CommunicationTemplate['kind']
): Promise<CommunicationTemplate | undefined> {
	const playbooks = (await escalationRepo.playbookSnapshots(ctx.db, incidentId)) as Playbook[];
	for (const pb of playbooks) {
		const tpl = pb.communications?.find((c) => c.kind === kind);
		if (tpl) return tpl;
	}
	return undefined;
}

function draftText(
	kind: CommunicationKind,
	opts: {
		incident: IncidentRow;
		facts: ReportFacts;
		timeline: TimelineLine[];
		timeZone: string;
		template?: CommunicationTemplate;
		organisation?: { 'zh-CN': string; en: string };
	}
): Partial<Record<TextField, Bilingual>> {
	const { incident, facts, timeline } = opts;
	const per = (fn: (locale: Locale) => string): Bilingual => ({ 'zh-CN': fn('zh-CN'), en: fn('en') });
	const services = (locale: Locale) =>
		facts.services.map((s) => (locale === 'en' ? s.nameEn : s.nameZh)).join(locale === 'en' ? ', ' : '、');
	const actions = per((locale) =>
		timeline
			.filter((e) => e.kind !== 'note')
			.map((e) => `${fmtTime(e.at, { locale, timeZone: opts.timeZone })} ${e.text[locale]}`)
			.join('\n')
	);
	const contact = per((locale) =>
		facts.inCharge
			? [facts.inCharge.name, facts.inCharge.phone, facts.inCharge.email].filter(Boolean).join(' / ')
			: translate(locale, 'report.draft.noManager')
	);
	const values = (locale: Locale): Partial<Record<Placeholder, string>> => ({
		'incident.number': facts.number,
		'incident.title': incident.title,
		'incident.priority': facts.priority,
		'incident.status': statusText(incident.status)[locale],
		'incident.detectedAt': fmtTime(facts.detectedAt, { locale, timeZone: opts.timeZone }),
		'incident.services': services(locale),
		'incident.manager': facts.inCharge?.name ?? '',
		'incident.managerPhone': facts.inCharge?.phone ?? '',
		'incident.nextUpdateAt': fmtTime(facts.nextUpdateAt, { locale, timeZone: opts.timeZone }),
		'incident.actionsTaken': actions[locale],
		'organisation.name': opts.organisation?.[locale] ?? ''
	});
	if (kind === 'head_office_report') {
		// The report's sections are the DOMAIN.md fields; a loaded playbook's report template gives its subject line.
		const subject = opts.template?.subject;
		return {
			title: subject
				? per((locale) => renderTemplate(subject[locale] ?? subject['zh-CN'] ?? '', values(locale)))
				: { 'zh-CN': incident.title, en: incident.title },
			impact: per((locale) =>
				translate(locale, 'report.draft.impact', {
					services: services(locale) || '—',
					regions: facts.regions.join(', ') || '—',
					description: incident.description || '—'
				})
			),
			currentStatus: statusText(incident.status),
			actionsTaken: actions,
			nextSteps: { 'zh-CN': '', en: '' },
			eta: bi('report.draft.etaUnknown'),
			contact
		};
	}
	const headline = per((locale) =>
		translate(locale, 'report.draft.headline', { number: facts.number, status: statusText(incident.status)[locale], title: incident.title })
	);
	const body = opts.template
		? per((locale) => renderTemplate(opts.template!.body[locale] ?? opts.template!.body['zh-CN'] ?? '', values(locale)))
		: per((locale) =>
				translate(locale, 'report.draft.body', {
					services: services(locale) || '—',
					status: statusText(incident.status)[locale],
					next: fmtTime(facts.nextUpdateAt, { locale, timeZone: opts.timeZone })
				})
			);
	return { headline, body };
}

// ---------------------------------------------------------------------------------------------
// Loading and views
// ---------------------------------------------------------------------------------------------

async function loadCommunication(
	ctx: AppContext,
	actor: Actor,
	opts: { id: unknown; operation?: (kind: CommunicationKind) => Operation }
): Promise<Result<{ comm: CommunicationRow; incident: IncidentRow; member: Awaited<ReturnType<typeof membersRepo.findActive>> }>> {
	if (typeof opts.id !== 'string' || opts.id.length === 0 || opts.id.length > 100)
		return err({ code: 'not_found', message: 'No such report or status update' });
	const comm = await commsRepo.findById(ctx.db, opts.id);
	if (!comm) return err({ code: 'not_found', message: 'No such report or status update' });
	const loaded = await loadFor(ctx, actor, { ref: comm.incident_id, operation: opts.operation?.(comm.kind) });
	if (!loaded.ok) return loaded;
	return ok({ comm, incident: loaded.value.incident, member: loaded.value.member });
}

async function views(ctx: AppContext, rows: CommunicationRow[]): Promise<CommunicationView[]> {
	const ids = rows.map((r) => r.id);
	const [events, acks] = await Promise.all([commsRepo.listEvents(ctx.db, ids), commsRepo.listAcks(ctx.db, ids)]);
	const userIds = new Set<string>();
	for (const r of rows) for (const u of [r.drafted_by, r.approved_by]) if (u) userIds.add(u);
	for (const e of events) if (e.actor_id) userIds.add(e.actor_id);
	const users = await usersRepo.listByIds(ctx.db, [...userIds]);
	const nameOf = (id: string | null) => (id ? (users.find((u) => u.id === id)?.display_name ?? null) : null);
	const timeZone = ctx.config.orgTimeZone;
	const out: CommunicationView[] = [];
	// Previous of the same kind = the one created before it (rows come oldest first per incident).
	const previous = new Map<string, CommunicationContent>();
	for (const r of [...rows].sort((a, b) => a.created_at.getTime() - b.created_at.getTime())) {
		const content = parseContent(r);
		const key = `${r.incident_id}:${r.kind}`;
		const versions = await commsRepo.listVersions(ctx.db, r.id);
		const revisions: CommunicationView['revisions'] = [];
		for (let i = 1; i < versions.length; i++) {
			const prev = parseContent(versions[i - 1]!);
			const cur = parseContent(versions[i]!);
			revisions.push({
				version: versions[i]!.version,
				editedAt: versions[i]!.edited_at,
				editorName: nameOf(versions[i]!.edited_by),
				diff: diffBoth(prev, cur, { kind: r.kind, timeZone })
			});
		}
		out.push({
			id: r.id,
			incidentId: r.incident_id,
			kind: r.kind,
			reportKind: r.report_kind,
			sequence: r.sequence,
			state: r.state,
			content,
			version: r.version,
			draftedBy: r.drafted_by ? { userId: r.drafted_by, name: nameOf(r.drafted_by) ?? '' } : null,
			submittedAt: r.submitted_at,
			approvedBy: r.approved_by ? { userId: r.approved_by, name: nameOf(r.approved_by) ?? '' } : null,
			approvedAt: r.approved_at,
			overrideReason: r.override_reason,
			returnComment: r.return_comment,
			returnedAt: r.returned_at,
			contentHash: r.content_hash,
			sentAt: r.sent_at,
			createdAt: r.created_at,
			acks: acks.filter((a) => a.communication_id === r.id).map((a) => ({ userId: a.user_id, name: a.display_name, at: a.acked_at })),
			events: events
				.filter((e) => e.communication_id === r.id)
				.map((e) => ({ action: e.action, actorName: nameOf(e.actor_id), comment: e.comment, version: e.version, at: e.at })),
			diff: diffBoth(previous.get(key) ?? null, content, { kind: r.kind, timeZone }),
			revisions
		});
		previous.set(key, content);
	}
	return out;
}

export async function getCommunication(ctx: AppContext, actor: Actor, opts: { id: unknown }): Promise<Result<CommunicationView>> {
	const loaded = await loadCommunication(ctx, actor, { id: opts.id, operation: () => 'view_incident' });
	if (!loaded.ok) return loaded;
	const all = await commsRepo.listByIncident(ctx.db, { incidentId: loaded.value.incident.id, kind: loaded.value.comm.kind });
	const v = (await views(ctx, all)).find((x) => x.id === loaded.value.comm.id);
	if (!v) return err(notFound());
	return ok(v);
}

/** An incident's communications (oldest first) and the requests from head office. */
export async function listCommunications(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string }
): Promise<Result<{ communications: CommunicationView[]; requests: UpdateRequestView[] }>> {
	const loaded = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'view_incident' });
	if (!loaded.ok) return loaded;
	const id = loaded.value.incident.id;
	const [rows, requests] = await Promise.all([commsRepo.listByIncident(ctx.db, { incidentId: id }), commsRepo.listRequests(ctx.db, [id])]);
	return ok({
		communications: await views(ctx, rows),
		requests: requests.map((r) => ({
			id: r.id,
			kind: r.kind,
			text: r.text,
			requestedBy: r.requested_by_name ?? null,
			requestedAt: r.requested_at,
			answeredAt: r.answered_at,
			communicationId: r.communication_id
		}))
	});
}

// ---------------------------------------------------------------------------------------------
// The workflow
// ---------------------------------------------------------------------------------------------

/**
 * Starts a draft of a report to head office or a status update, prefilled from the incident. One open
 * communication of each kind per incident: asking again while one is open is a `conflict` naming it.
 * The report kind defaults to `initial` before the first report went out, then `progress` (numbered),
 * and `final` once the incident is resolved.
 */
export async function draftCommunication(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; kind: unknown; reportKind?: unknown }
): Promise<Result<CommunicationView, ValidationFailure>> {
	if (!(COMMUNICATION_KINDS as readonly unknown[]).includes(opts.kind))
		return invalid([{ code: 'invalid_value', message: `kind must be one of ${COMMUNICATION_KINDS.join(', ')}`, field: 'kind' }]);
	const kind = opts.kind as CommunicationKind;
	const loaded = await loadFor(ctx, actor, { ref: opts.incidentId, operation: kindOperations[kind].draft });
	if (!loaded.ok) return loaded;
	const { incident } = loaded.value;
	if (incident.declared_at === null) return err(conflict('Only a declared incident is reported; accept or declare it first'));
	if (incident.status === 'closed' || incident.status === 'rejected')
		return err(conflict(`The incident is ${incident.status}; nothing more is reported`));
	const open = await commsRepo.findOpen(ctx.db, { incidentId: incident.id, kind });
	if (open) return err(conflict('A draft is already open; finish or send it first', { communicationId: open.id }));

	let reportKind: ReportKind | null = null;
	let sequence = 0;
	if (kind === 'head_office_report') {
		const sent = (await commsRepo.listByIncident(ctx.db, { incidentId: incident.id, kind })).filter((c) => c.state === 'sent');
		const fallback: ReportKind = sent.length === 0 ? 'initial' : incident.status === 'resolved' ? 'final' : 'progress';
		if (opts.reportKind !== undefined && opts.reportKind !== null && opts.reportKind !== '') {
			if (!(REPORT_KINDS as readonly unknown[]).includes(opts.reportKind))
				return invalid([{ code: 'invalid_value', message: `reportKind must be one of ${REPORT_KINDS.join(', ')}`, field: 'reportKind' }]);
			reportKind = opts.reportKind as ReportKind;
		} else reportKind = fallback;
		if (reportKind === 'initial' && sent.some((c) => c.report_kind === 'initial'))
			return invalid([
				{
					code: 'invalid_value',
					message: 'The initial report was already sent; this one is a progress update or the final report',
					field: 'reportKind'
				}
			]);
		if (reportKind !== 'initial' && !sent.some((c) => c.report_kind === 'initial'))
			return invalid([{ code: 'invalid_value', message: 'The initial report comes first', field: 'reportKind' }]);
		if (reportKind === 'final' && isActiveStatus(incident.status))
			return invalid([{ code: 'invalid_value', message: 'The final report is sent once the incident is resolved', field: 'reportKind' }]);
		if (reportKind === 'progress') sequence = (await commsRepo.maxProgressSequence(ctx.db, incident.id)) + 1;
	}

	const { facts } = await incidentFacts(ctx, incident);
	const timeline = await pinnedTimeline(ctx, incident.id);
	const template = await playbookTemplate(ctx, incident.id, kind === 'status_update' ? 'internal_update' : 'head_office_report');
	const content: CommunicationContent = {
		facts,
		text: draftText(kind, {
			incident,
			facts,
			timeline,
			timeZone: ctx.config.orgTimeZone,
			template,
			organisation: await reportingUnit(ctx, incident.id)
		})
	};
	const now = ctx.now();
	const id = crypto.randomUUID();
	try {
		await ctx.db.transaction().execute(async (trx) => {
			await commsRepo.insert(trx, {
				id,
				incident_id: incident.id,
				kind,
				report_kind: reportKind,
				sequence,
				content,
				drafted_by: actor.userId,
				at: now
			});
			await commsRepo.insertVersion(trx, { communicationId: id, version: 1, content, editedBy: actor.userId, at: now });
			await commsRepo.insertEvent(trx, {
				id: crypto.randomUUID(),
				communication_id: id,
				action: 'drafted',
				actor_id: actor.userId,
				comment: null,
				version: 1,
				at: now
			});
			await audit.record(trx, {
				actorId: actor.userId,
				action: `${kind}.draft`,
				subjectType: 'communication',
				subjectId: id,
				after: { incidentId: incident.id, reportKind, sequence },
				at: now
			});
		});
	} catch (error) {
		// Two people pressed "draft" at once: the partial unique index let one through.
		if (typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505')
			return err(conflict('A draft is already open; finish or send it first'));
		throw error;
	}
	ctx.events.publish({ type: 'incident.changed', incidentId: incident.id, what: 'communication' });
	return getCommunication(ctx, actor, { id }) as Promise<Result<CommunicationView, ValidationFailure>>;
}

function expectedVersion(value: unknown): number | DomainError | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) return n;
	return { code: 'invalid_value', message: 'version must be a positive whole number', field: 'version' };
}

/**
 * Saves the editor's text (both languages of each field given; fields not given stay as they were).
 * Only drafts and returned ones are editable; the facts are refreshed from the incident at the same
 * time, so a report edited an hour later shows the current priority and people.
 */
export async function editCommunication(
	ctx: AppContext,
	actor: Actor,
	opts: { id: unknown; version?: unknown; text: unknown }
): Promise<Result<CommunicationView, ValidationFailure>> {
	const loaded = await loadCommunication(ctx, actor, { id: opts.id, operation: (k) => kindOperations[k].draft });
	if (!loaded.ok) return loaded;
	const { comm, incident } = loaded.value;
	if (comm.state !== 'draft' && comm.state !== 'returned')
		return err(conflict(`A ${comm.state} report can no longer be edited`, { state: comm.state }));
	const expected = expectedVersion(opts.version);
	if (isError(expected)) return invalid([expected]);
	if (typeof opts.text !== 'object' || opts.text === null || Array.isArray(opts.text))
		return invalid([{ code: 'invalid_type', message: 'text must be an object of fields, each with zh-CN and en', field: 'text' }]);
	const input = opts.text as Record<string, unknown>;
	const allowed = fieldsOf(comm.kind);
	const errors: DomainError[] = [];
	const current = parseContent(comm);
	const next: CommunicationContent = { facts: current.facts, text: { ...current.text } };
	for (const [field, value] of Object.entries(input)) {
		if (!(allowed as readonly string[]).includes(field)) {
			errors.push({ code: 'invalid_value', message: `unknown field ${field}`, field: `text.${field}` });
			continue;
		}
		const f = field as TextField;
		const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
		const pair: Partial<Bilingual> = {};
		for (const locale of ['zh-CN', 'en'] as const) {
			const r = text(`text.${f}.${locale}`, v[locale], {
				max: FIELD_MAX_CHARS[f],
				multiline: f !== 'title' && f !== 'headline',
				required: f === 'title' || f === 'headline'
			});
			if (isError(r)) errors.push(r);
			else pair[locale] = r ?? '';
		}
		next.text[f] = { 'zh-CN': pair['zh-CN'] ?? '', en: pair.en ?? '' };
	}
	if (errors.length) return invalid(errors);
	const { facts } = await incidentFacts(ctx, incident);
	next.facts = facts;
	if (audit.canonicalJson(next.text) === audit.canonicalJson(current.text) && expected === undefined)
		return getCommunication(ctx, actor, { id: comm.id }) as Promise<Result<CommunicationView, ValidationFailure>>;
	const now = ctx.now();
	const saved = await ctx.db.transaction().execute(async (trx) => {
		const row = await commsRepo.update(trx, {
			id: comm.id,
			expectedVersion: expected ?? comm.version,
			patch: { content: next, version: comm.version + 1, updated_at: now }
		});
		if (!row || (row.state !== 'draft' && row.state !== 'returned')) return undefined;
		await commsRepo.insertVersion(trx, { communicationId: comm.id, version: row.version, content: next, editedBy: actor.userId, at: now });
		await commsRepo.insertEvent(trx, {
			id: crypto.randomUUID(),
			communication_id: comm.id,
			action: 'edited',
			actor_id: actor.userId,
			comment: null,
			version: row.version,
			at: now
		});
		await audit.record(trx, {
			actorId: actor.userId,
			action: `${comm.kind}.edit`,
			subjectType: 'communication',
			subjectId: comm.id,
			before: { version: comm.version },
			after: { version: row.version, text: next.text },
			at: now
		});
		return row;
	});
	if (!saved) return err(conflict('Someone else changed this report; reload and try again', { version: comm.version }));
	ctx.events.publish({ type: 'incident.changed', incidentId: incident.id, what: 'communication' });
	return getCommunication(ctx, actor, { id: comm.id }) as Promise<Result<CommunicationView, ValidationFailure>>;
}

/** Who should hear about a communication's progress: the incident manager, deputy and communications lead. */
async function commandRecipients(ctx: AppContext, incidentId: string, except?: string | null): Promise<string[]> {
	const members = await membersRepo.listActive(ctx.db, [incidentId]);
	return members
		.filter((m) => ['incident_manager', 'deputy', 'communications_lead'].includes(m.role) && m.user_id !== except)
		.map((m) => m.user_id);
}

function kindLabel(comm: Pick<CommunicationRow, 'kind' | 'report_kind' | 'sequence'>): Bilingual {
	if (comm.kind === 'status_update') return bi('report.kind.status_update');
	if (comm.report_kind === 'progress') return bi('report.kind.progressN', { n: comm.sequence });
	return bi(`report.kind.${comm.report_kind ?? 'initial'}`);
}

async function transition(
	ctx: AppContext,
	actor: Actor,
	opts: {
		comm: CommunicationRow;
		from: readonly CommunicationState[];
		patch: commsRepo.CommunicationPatch;
		event: { action: 'submitted' | 'returned' | 'approved' | 'overridden'; comment?: string | null };
		auditAfter?: Record<string, unknown>;
	}
): Promise<CommunicationRow | DomainError> {
	const now = ctx.now();
	return ctx.db.transaction().execute(async (trx) => {
		const locked = await commsRepo.findByIdForUpdate(trx, opts.comm.id);
		if (!locked) return notFound();
		if (!opts.from.includes(locked.state)) return conflict(`This report is ${locked.state} now; reload`, { state: locked.state });
		if (locked.version !== opts.comm.version)
			return conflict('Someone else changed this report; reload and try again', { version: locked.version });
		const row = await commsRepo.update(trx, { id: locked.id, patch: { ...opts.patch, updated_at: now } });
		await commsRepo.insertEvent(trx, {
			id: crypto.randomUUID(),
			communication_id: locked.id,
			action: opts.event.action,
			actor_id: actor.userId,
			comment: opts.event.comment ?? null,
			version: locked.version,
			at: now
		});
		await audit.record(trx, {
			actorId: actor.userId,
			action: `${locked.kind}.${opts.event.action}`,
			subjectType: 'communication',
			subjectId: locked.id,
			before: { state: locked.state },
			after: { state: row!.state, ...opts.auditAfter },
			at: now
		});
		return row!;
	});
}

export async function submitCommunication(
	ctx: AppContext,
	actor: Actor,
	opts: { id: unknown }
): Promise<Result<CommunicationView, ValidationFailure>> {
	const loaded = await loadCommunication(ctx, actor, { id: opts.id, operation: (k) => kindOperations[k].draft });
	if (!loaded.ok) return loaded;
	const { comm, incident } = loaded.value;
	const content = parseContent(comm);
	const missing = fieldsOf(comm.kind)
		.filter((f) => f === 'title' || f === 'headline' || f === 'currentStatus' || f === 'body')
		.filter((f) => !content.text[f]?.['zh-CN']?.trim() && !content.text[f]?.en?.trim());
	if (missing.length)
		return invalid(missing.map((f) => ({ code: 'required', message: `${f} is required before submitting`, field: `text.${f}` })));
	const now = ctx.now();
	const r = await transition(ctx, actor, {
		comm,
		from: ['draft', 'returned'],
		patch: { state: 'submitted', submitted_by: actor.userId, submitted_at: now },
		event: { action: 'submitted' }
	});
	if (isError(r)) return err(r);
	const label = kindLabel(comm);
	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'communication',
		board: false,
		entry: { kind: 'communication', text: biKind('report.timeline.submitted', { actor: actor.displayName }, label) }
	});
	await notify(ctx, {
		event: 'report.submitted',
		incidentId: incident.id,
		recipients: await commandRecipients(ctx, incident.id, actor.userId),
		title: biKind('report.notify.submittedTitle', { number: incident.number }, label),
		body: biKind('report.notify.submittedBody', { actor: actor.displayName, title: incident.title }, label),
		link: `/incidents/${incident.id}/escalation`,
		restricted: incident.restricted,
		dedupeKey: `communication:${comm.id}:submitted:${comm.version}`
	});
	return getCommunication(ctx, actor, { id: comm.id }) as Promise<Result<CommunicationView, ValidationFailure>>;
}

/** A message with a `{kind}` parameter given in both languages. */
function biKind(key: string, params: Params, kind: Bilingual): Bilingual {
	return { 'zh-CN': translate('zh-CN', key, { ...params, kind: kind['zh-CN'] }), en: translate('en', key, { ...params, kind: kind.en }) };
}

export async function returnCommunication(
	ctx: AppContext,
	actor: Actor,
	opts: { id: unknown; comment: unknown }
): Promise<Result<CommunicationView, ValidationFailure>> {
	const loaded = await loadCommunication(ctx, actor, { id: opts.id, operation: (k) => kindOperations[k].approve });
	if (!loaded.ok) return loaded;
	const { comm, incident } = loaded.value;
	const comment = text('comment', opts.comment, { required: true, max: COMMENT_MAX_CHARS, multiline: true });
	if (isError(comment)) return invalid([comment]);
	const now = ctx.now();
	const r = await transition(ctx, actor, {
		comm,
		from: ['submitted'],
		patch: { state: 'returned', returned_by: actor.userId, returned_at: now, return_comment: comment! },
		event: { action: 'returned', comment: comment! },
		auditAfter: { comment }
	});
	if (isError(r)) return err(r);
	const label = kindLabel(comm);
	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'communication',
		board: false,
		entry: { kind: 'communication', text: biKind('report.timeline.returned', { actor: actor.displayName, comment: comment! }, label) }
	});
	const recipients = [...new Set([comm.drafted_by, comm.submitted_by].filter((u): u is string => !!u && u !== actor.userId))];
	await notify(ctx, {
		event: 'report.returned',
		incidentId: incident.id,
		recipients,
		title: biKind('report.notify.returnedTitle', { number: incident.number }, label),
		body: biKind('report.notify.returnedBody', { actor: actor.displayName, comment: comment! }, label),
		link: `/incidents/${incident.id}/escalation`,
		restricted: incident.restricted,
		dedupeKey: `communication:${comm.id}:returned:${comm.version}`
	});
	return getCommunication(ctx, actor, { id: comm.id }) as Promise<Result<CommunicationView, ValidationFailure>>;
}

/** Whether `userId` wrote any of the communication's content (drafted it or saved a revision). */
async function isAuthor(ctx: AppContext, comm: CommunicationRow, userId: string | null): Promise<boolean> {
	if (!userId) return false;
	if (comm.drafted_by === userId) return true;
	return (await commsRepo.listVersions(ctx.db, comm.id)).some((v) => v.edited_by === userId);
}

/**
 * Approves a submitted communication: four eyes unless overridden (see the file comment), then
 * freezes the content (approver filled in, hash recorded in the audit chain) and delivers it.
 */
export async function approveCommunication(
	ctx: AppContext,
	actor: Actor,
	opts: { id: unknown; overrideReason?: unknown }
): Promise<Result<CommunicationView, ValidationFailure>> {
	const loaded = await loadCommunication(ctx, actor, { id: opts.id });
	if (!loaded.ok) return loaded;
	const { comm, incident, member } = loaded.value;
	const reason = text('overrideReason', opts.overrideReason, { max: COMMENT_MAX_CHARS, multiline: true });
	if (isError(reason)) return invalid([reason]);
	const own = await isAuthor(ctx, comm, actor.userId);
	const approveOp = kindOperations[comm.kind].approve;
	if (own) {
		if (!reason)
			return err(
				forbidden(
					'Nobody approves their own draft; ask the deputy or another manager, or give a reason for an emergency override',
					'own_draft'
				)
			);
		// An emergency override: the incident manager of this incident, or anyone holding override_approval.
		const isManager = member?.role === 'incident_manager';
		if (!isManager && denial(actor, { operation: 'override_approval', incident, member }))
			return err(forbidden('Only the incident manager or a manager may override the four-eyes rule', 'role'));
	} else {
		const denied = denial(actor, { operation: approveOp, incident, member });
		if (denied) return err(denied);
		if (reason)
			return invalid([
				{ code: 'invalid_value', message: 'An override reason is only for approving your own draft', field: 'overrideReason' }
			]);
	}
	const now = ctx.now();
	const content = parseContent(comm);
	const frozen: CommunicationContent = { ...content, facts: { ...content.facts, approver: { name: actor.displayName, override: own } } };
	const hash = contentHash(frozen);
	const r = await transition(ctx, actor, {
		comm,
		from: ['submitted'],
		patch: {
			state: 'approved',
			approved_by: actor.userId,
			approved_at: now,
			override_reason: own ? reason! : null,
			content: frozen,
			content_hash: hash
		},
		event: { action: own ? 'overridden' : 'approved', comment: own ? reason! : null },
		auditAfter: { contentHash: hash, override: own, overrideReason: own ? reason : null }
	});
	if (isError(r)) return err(r);
	const label = kindLabel(comm);
	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'communication',
		board: comm.kind === 'status_update',
		entry: {
			kind: 'communication',
			pinned: own,
			text: own
				? biKind('report.timeline.overridden', { actor: actor.displayName, reason: reason! }, label)
				: biKind('report.timeline.approved', { actor: actor.displayName }, label)
		}
	});
	await deliverApproved(ctx, { id: comm.id });
	return getCommunication(ctx, actor, { id: comm.id }) as Promise<Result<CommunicationView, ValidationFailure>>;
}

/** Head-office users: active viewers and managers (and admins) whose org unit is a head-office unit. */
export async function headOfficeUserIds(ctx: AppContext): Promise<string[]> {
	const units = (await orgUnitsRepo.list(ctx.db)).filter((u) => u.kind === 'head_office').map((u) => u.id);
	if (units.length === 0) return [];
	return escalationRepo.activeUsersIn(ctx.db, { orgUnitIds: units, roles: ['viewer', 'manager', 'admin'] });
}

/**
 * Delivers an approved communication: reports to the head-office inbox and notification channels,
 * status updates to the response group. Idempotent — the notification carries a dedupe key and only
 * the caller that moves the row from `approved` to `sent` writes the timeline entry — so the job can
 * call it for anything left `approved` by a crash.
 */
export async function deliverApproved(ctx: AppContext, opts: { id: string }): Promise<boolean> {
	const comm = await commsRepo.findById(ctx.db, opts.id);
	if (!comm || comm.state !== 'approved') return false;
	const incident = await incidentsRepo.findById(ctx.db, comm.incident_id);
	if (!incident) return false;
	const content = parseContent(comm);
	const label = kindLabel(comm);
	const title = content.text.title ?? content.text.headline ?? { 'zh-CN': incident.title, en: incident.title };
	const recipients =
		comm.kind === 'head_office_report'
			? await headOfficeUserIds(ctx)
			: (await membersRepo.listActive(ctx.db, [incident.id])).map((m) => m.user_id);
	// Notify first: if we crash after it, the retry's dedupe key makes the second send a no-op.
	await notify(ctx, {
		event: comm.kind === 'head_office_report' ? 'report.sent' : 'status_update.published',
		incidentId: incident.id,
		recipients,
		title: biKind(
			'report.notify.sentTitle',
			{ number: incident.number, priority: incident.priority, drill: incident.drill ? 1 : 0 },
			label
		),
		body: {
			'zh-CN': `${title['zh-CN']}\n${content.text.currentStatus?.['zh-CN'] ?? content.text.body?.['zh-CN'] ?? ''}${comm.override_reason ? `\n${translate('zh-CN', 'report.overrideFlag')}` : ''}`,
			en: `${title.en}\n${content.text.currentStatus?.en ?? content.text.body?.en ?? ''}${comm.override_reason ? `\n${translate('en', 'report.overrideFlag')}` : ''}`
		},
		link: comm.kind === 'head_office_report' ? `/inbox#${comm.id}` : `/incidents/${incident.id}`,
		restricted: incident.restricted,
		dedupeKey: `communication:${comm.id}:sent`
	});
	const now = ctx.now();
	const sent = await ctx.db.transaction().execute(async (trx) => {
		const locked = await commsRepo.findByIdForUpdate(trx, comm.id);
		if (!locked || locked.state !== 'approved') return false;
		await commsRepo.update(trx, { id: comm.id, patch: { state: 'sent', sent_at: now, updated_at: now } });
		await commsRepo.insertEvent(trx, {
			id: crypto.randomUUID(),
			communication_id: comm.id,
			action: 'sent',
			actor_id: null,
			comment: null,
			version: locked.version,
			at: now
		});
		await commsRepo.answerOpenRequests(trx, { incidentId: incident.id, communicationId: comm.id, at: now });
		await audit.record(trx, {
			actorId: null,
			action: `${comm.kind}.sent`,
			subjectType: 'communication',
			subjectId: comm.id,
			after: { contentHash: locked.content_hash, recipients: recipients.length },
			at: now
		});
		return true;
	});
	if (sent)
		await afterCommit(ctx, {
			incidentId: incident.id,
			what: 'communication',
			board: true,
			entry: {
				kind: 'escalation',
				pinned: comm.kind === 'head_office_report',
				text: biKind('report.timeline.sent', { count: recipients.length }, label)
			}
		});
	return sent;
}

// ---------------------------------------------------------------------------------------------
// Head office
// ---------------------------------------------------------------------------------------------

async function isHeadOfficeUser(ctx: AppContext, actor: Actor): Promise<boolean> {
	if (!actor.orgUnitId) return false;
	const unit = await orgUnitsRepo.findById(ctx.db, actor.orgUnitId);
	return unit?.kind === 'head_office';
}

/** Head office acknowledges receipt of a sent report. Idempotent (`first: false` the second time). */
export async function acknowledgeReport(
	ctx: AppContext,
	actor: Actor,
	opts: { id: unknown }
): Promise<Result<{ first: boolean; ackedAt: Date }, ValidationFailure>> {
	const loaded = await loadCommunication(ctx, actor, { id: opts.id, operation: () => 'ack_head_office_report' });
	if (!loaded.ok) return loaded;
	const { comm, incident } = loaded.value;
	if (comm.kind !== 'head_office_report') return err(conflict('Only reports to head office are acknowledged'));
	if (comm.state !== 'sent') return err(conflict('This report has not been sent yet'));
	if (actor.globalRole !== 'admin' && !(await isHeadOfficeUser(ctx, actor)))
		return err(forbidden('Only head office acknowledges reports', 'not_head_office'));
	const now = ctx.now();
	const first = await ctx.db.transaction().execute(async (trx) => {
		const inserted = await commsRepo.insertAck(trx, { communicationId: comm.id, userId: actor.userId!, at: now });
		if (inserted)
			await audit.record(trx, {
				actorId: actor.userId,
				action: 'head_office_report.ack',
				subjectType: 'communication',
				subjectId: comm.id,
				after: { contentHash: comm.content_hash },
				at: now
			});
		return inserted;
	});
	if (!first) {
		const acks = await commsRepo.listAcks(ctx.db, [comm.id]);
		return ok({ first: false, ackedAt: acks.find((a) => a.user_id === actor.userId)?.acked_at ?? now });
	}
	const label = kindLabel(comm);
	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'communication',
		board: false,
		entry: { kind: 'escalation', text: biKind('report.timeline.acked', { actor: actor.displayName }, label) }
	});
	await notify(ctx, {
		event: 'report.acknowledged',
		incidentId: incident.id,
		recipients: await commandRecipients(ctx, incident.id),
		title: biKind('report.notify.ackedTitle', { number: incident.number }, label),
		body: biKind('report.notify.ackedBody', { actor: actor.displayName }, label),
		link: `/incidents/${incident.id}/escalation`,
		restricted: incident.restricted,
		dedupeKey: `communication:${comm.id}:ack:${actor.userId}`
	});
	return ok({ first: true, ackedAt: now });
}

/**
 * Head office (or anyone who may view the incident) requests an update or asks a question. It goes
 * into the war room's timeline (pinned, so it is not missed) and to the incident manager, deputy and
 * communications lead.
 */
export async function requestUpdate(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId?: unknown; communicationId?: unknown; kind: unknown; text?: unknown }
): Promise<Result<UpdateRequestView, ValidationFailure>> {
	let incidentRef = opts.incidentId;
	let communicationId: string | null = null;
	if (opts.communicationId !== undefined && opts.communicationId !== null && opts.communicationId !== '') {
		const c = await loadCommunication(ctx, actor, { id: opts.communicationId });
		if (!c.ok) return c;
		incidentRef = c.value.incident.id;
		communicationId = c.value.comm.id;
	}
	// Access first, then the input: an outsider is refused whatever they send.
	const loaded = await loadFor(ctx, actor, { ref: incidentRef, operation: 'request_update' });
	if (!loaded.ok) return loaded;
	const { incident } = loaded.value;
	const kind = opts.kind;
	if (kind !== 'update' && kind !== 'question')
		return invalid([{ code: 'invalid_value', message: 'kind must be update or question', field: 'kind' }]);
	const body = text('text', opts.text, { required: kind === 'question', max: REQUEST_MAX_CHARS, multiline: true });
	if (isError(body)) return invalid([body]);
	const now = ctx.now();
	const id = crypto.randomUUID();
	const requestText = body ?? '';
	await ctx.db.transaction().execute(async (trx) => {
		await commsRepo.insertRequest(trx, {
			id,
			incident_id: incident.id,
			communication_id: communicationId,
			requested_by: actor.userId,
			kind,
			text: requestText,
			requested_at: now
		});
		await audit.record(trx, {
			actorId: actor.userId,
			action: `incident.${kind === 'update' ? 'request_update' : 'question'}`,
			subjectType: 'incident',
			subjectId: incident.id,
			after: { id, text: requestText, communicationId },
			at: now
		});
	});
	const key = kind === 'update' ? 'report.timeline.updateRequested' : 'report.timeline.question';
	// The board counts open requests: it hears of one as soon as it is committed, from the war room,
	// the inbox or the board alike, before the timeline entry and the notifications.
	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'update_request',
		entry: { kind: 'escalation', pinned: true, text: bi(key, { actor: actor.displayName, text: requestText }) }
	});
	await notify(ctx, {
		event: kind === 'update' ? 'report.update_requested' : 'report.question',
		incidentId: incident.id,
		recipients: await commandRecipients(ctx, incident.id, actor.userId),
		title: bi(kind === 'update' ? 'report.notify.updateRequestedTitle' : 'report.notify.questionTitle', { number: incident.number }),
		body: bi(key, { actor: actor.displayName, text: requestText }),
		link: `/incidents/${incident.id}/escalation`,
		restricted: incident.restricted,
		dedupeKey: `update_request:${id}`
	});
	return ok({ id, kind, text: requestText, requestedBy: actor.displayName, requestedAt: now, answeredAt: null, communicationId });
}

export interface InboxItem {
	report: CommunicationView;
	incident: { id: string; number: string; title: string; priority: Priority; status: IncidentStatus; drill: boolean; restricted: boolean };
	/** The current user acknowledged it. */
	ackedByMe: boolean;
	/** Anyone at head office acknowledged it. */
	acked: boolean;
	openRequests: number;
}

const PRIORITY_RANK: Record<Priority, number> = { P1: 1, P2: 2, P3: 3, P4: 4, P5: 5 };

/**
 * The head-office inbox: sent reports from all regions the user may see, most urgent first —
 * unacknowledged before acknowledged, then by priority, then newest.
 */
export async function listInbox(
	ctx: AppContext,
	actor: Actor,
	opts: { limit?: number } = {}
): Promise<Result<{ items: InboxItem[]; mayAck: boolean }>> {
	if (!actor.userId && actor.kind !== 'system') return err(forbidden('Sign in to see the inbox', 'role'));
	const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? INBOX_MAX)), INBOX_MAX);
	const rows = await commsRepo.listSentReports(ctx.db, { limit: limit * 2 });
	const visible: { row: CommunicationRow; incident: IncidentRow }[] = [];
	const byIncident = new Map<string, IncidentRow | null>();
	for (const row of rows) {
		if (!byIncident.has(row.incident_id)) {
			const l = await loadFor(ctx, actor, { ref: row.incident_id, operation: 'view_incident' });
			byIncident.set(row.incident_id, l.ok ? l.value.incident : null);
		}
		const incident = byIncident.get(row.incident_id);
		if (incident) visible.push({ row, incident });
	}
	const vs = await views(
		ctx,
		visible.map((v) => v.row)
	);
	const requests = await commsRepo.listRequests(ctx.db, [...new Set(visible.map((v) => v.incident.id))]);
	const items: InboxItem[] = visible.map(({ row, incident }) => {
		const report = vs.find((v) => v.id === row.id)!;
		return {
			report,
			incident: {
				id: incident.id,
				number: incident.number,
				title: incident.title,
				priority: incident.priority,
				status: incident.status,
				drill: incident.drill,
				restricted: incident.restricted
			},
			ackedByMe: report.acks.some((a) => a.userId === actor.userId),
			acked: report.acks.length > 0,
			openRequests: requests.filter((r) => r.incident_id === incident.id && r.answered_at === null).length
		};
	});
	items.sort(
		(a, b) =>
			Number(a.acked) - Number(b.acked) ||
			PRIORITY_RANK[a.incident.priority] - PRIORITY_RANK[b.incident.priority] ||
			(b.report.sentAt?.getTime() ?? 0) - (a.report.sentAt?.getTime() ?? 0)
	);
	const mayAck =
		actor.globalRole === 'admin' ||
		((actor.globalRole === 'viewer' || actor.globalRole === 'manager') && (await isHeadOfficeUser(ctx, actor)));
	return ok({ items: items.slice(0, limit), mayAck });
}

/**
 * The last approved status update line of each incident, for the board: headline in both languages
 * and when it was approved. Incidents without one are absent. No access check: the caller (the
 * board service) passes only incidents the user may see.
 */
export async function lastApprovedStatusLines(
	ctx: AppContext,
	incidentIds: readonly string[]
): Promise<Map<string, { headline: Bilingual; approvedAt: Date; communicationId: string }>> {
	const rows = await commsRepo.lastApprovedStatusUpdates(ctx.db, incidentIds);
	const out = new Map<string, { headline: Bilingual; approvedAt: Date; communicationId: string }>();
	for (const r of rows) {
		const c = parseContent(r);
		out.set(r.incident_id, { headline: c.text.headline ?? { 'zh-CN': '', en: '' }, approvedAt: r.approved_at!, communicationId: r.id });
	}
	return out;
}
