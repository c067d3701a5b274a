/**
 * The post-incident review (故障分析报告, issue 8). Started when an incident is resolved, with a draft
 * generated from what the system already knows (the facts); the narrative sections are written
 * together live in the incident's shared document (collab/review-doc.ts). Workflow:
 * draft → in review → published. Publishing freezes the facts, the narrative and the action items
 * into a numbered version, hashes it into the audit chain and records the incident manager's
 * sign-off; revising afterwards goes back to draft and the next publication is a new version.
 *
 * Closing a major incident needs a published review or a recorded waiver: `hasPublishedReview` is
 * what the incident service asks.
 */
import * as Y from 'yjs';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import { listEntries, type TimelineEntry } from '../../collab/incident-doc';
import { ensureReviewSections, readReviewSections, REVIEW_SECTIONS, type ReviewSection } from '../../collab/review-doc';
import { checklistOf } from '../../collab/incident-doc';
import { readChecklist } from '../../domain/checklist';
import type { ClockKind, ClockState } from '../../domain/clocks';
import { incidentDurations } from '../../domain/metrics';
import type { Playbook } from '../../domain/playbook-schema';
import type { Impact, Priority, Urgency } from '../../domain/priority';
import { responseStages, satisfaction, type SatisfactionSummary, type Stage } from '../../domain/review-metrics';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import type { IncidentRole } from '../../domain/roles';
import type { IncidentStatus } from '../../domain/incident-status';
import type { Actor, AppContext } from '../context';
import type { IncidentRow, ReviewRow } from '../db/schema';
import * as commsRepo from '../repositories/communications.repository';
import * as incidentsRepo from '../repositories/incidents.repository';
import * as reviewsRepo from '../repositories/reviews.repository';
import * as surveysRepo from '../repositories/surveys.repository';
import * as usersRepo from '../repositories/users.repository';
import * as audit from './audit.service';
import { evaluateIncident } from './clocks.service';
import { afterCommit, allowedOperations, loadFor, notFound, type Bilingual } from './incident.service';
import { listActionItemsOf, type ActionItemView } from './action-item.service';
import { translate } from '../../i18n';

export type ReviewState = ReviewRow['state'];
export const WAIVER_MAX_CHARS = 2_000;
/** Enough for a long incident; the full timeline stays in the incident's own export. */
export const REVIEW_TIMELINE_MAX = 500;

export interface ReviewFacts {
	generatedAt: string;
	incident: {
		id: string;
		number: string;
		title: string;
		description: string;
		priority: Priority;
		impact: Impact;
		urgency: Urgency;
		status: IncidentStatus;
		drill: boolean;
		restricted: boolean;
	};
	services: { code: string; nameZh: string; nameEn: string; regions: string[] }[];
	regions: string[];
	/** ISO 8601 or null. */
	times: {
		detectedAt: string;
		declaredAt: string | null;
		firstAckedAt: string | null;
		mitigatedAt: string | null;
		resolvedAt: string | null;
		closedAt: string | null;
	};
	/** Start (detection) → resolved. */
	durationMs: number | null;
	stages: Stage[];
	/** The escalation clocks as they ended (or stand): due, met or breached. */
	clocks: { kind: ClockKind; dueAt: string; metAt: string | null; state: ClockState }[];
	/** Pinned entries first (by time), then the rest by time; deleted entries left out. */
	timeline: { id: string; at: string; kind: string; text: string; i18n: Bilingual | null; authorName: string; pinned: boolean }[];
	timelineTruncated: boolean;
	reports: {
		id: string;
		reportKind: string | null;
		sequence: number;
		sentAt: string | null;
		approvedBy: string | null;
		acks: { name: string; at: string }[];
		/** Sent → first acknowledgement. */
		ackDelayMs: number | null;
	}[];
	playbooks: {
		playbookId: string;
		title: Bilingual;
		steps: {
			stepId: string;
			title: Bilingual;
			mandatory: boolean;
			state: 'open' | 'done' | 'skipped';
			late: boolean;
			dueAt: string | null;
			doneAt: string | null;
			doneByName: string | null;
			skipReason: string | null;
		}[];
		done: number;
		skipped: number;
		late: number;
		open: number;
	}[];
	deviations: {
		playbookId: string;
		stepId: string;
		stepTitle: Bilingual | null;
		kind: 'skipped' | 'late';
		reason: string;
		recordedBy: string | null;
		at: string;
	}[];
	participants: { userId: string; name: string; role: IncidentRole; addedAt: string; removedAt: string | null; ackedAt: string | null }[];
	satisfaction: SatisfactionSummary & {
		responses: { serviceCode: string; recipient: string; score: number; comment: string | null; at: string }[];
	};
}

/** What a published version freezes. */
export interface ReviewContent {
	facts: ReviewFacts;
	narrative: Record<ReviewSection, string>;
	actionItems: { title: string; owner: string | null; dueDate: string | null; type: string; link: string | null; status: string }[];
	signOff: { name: string; at: string } | null;
}

export interface ReviewVersionInfo {
	version: number;
	hash: string;
	publishedBy: string | null;
	publishedAt: Date;
}

export interface ReviewView {
	id: string;
	incidentId: string;
	state: ReviewState;
	/** Latest published version; 0 before the first sign-off. */
	version: number;
	rowVersion: number;
	facts: ReviewFacts;
	/** The live narrative (what the shared document holds now). */
	narrative: Record<ReviewSection, string>;
	published: { version: number; content: ReviewContent; hash: string } | null;
	versions: ReviewVersionInfo[];
	actionItems: ActionItemView[];
	submittedAt: Date | null;
	signedOff: { name: string; at: Date } | null;
	waiver: { reason: string; name: string | null; at: Date } | null;
	allowed: { write: boolean; publish: boolean; waive: boolean; manageItems: boolean; export: boolean };
}

// ---------------------------------------------------------------------------------------------

function conflict(message: string, params?: Record<string, string | number>): DomainError {
	return params ? { code: 'conflict', message, params } : { code: 'conflict', message };
}

function iso(d: Date | null | undefined): string | null {
	return d ? d.toISOString() : null;
}

export function hashContent(content: ReviewContent): string {
	return encodeHexLowerCase(sha256(new TextEncoder().encode(audit.canonicalJson(content))));
}

function pinnedFirst(entries: TimelineEntry[]): TimelineEntry[] {
	const byAt = (a: TimelineEntry, b: TimelineEntry) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id);
	return [...entries.filter((e) => e.pinned).sort(byAt), ...entries.filter((e) => !e.pinned).sort(byAt)];
}

function stepTitles(playbook: Playbook): Map<string, { title: Bilingual; mandatory: boolean }> {
	const out = new Map<string, { title: Bilingual; mandatory: boolean }>();
	for (const phase of playbook.phases) for (const step of phase.steps) out.set(step.id, { title: step.title, mandatory: step.mandatory });
	return out;
}

/** The facts of the draft, from the database and the shared document, at `now`. */
export async function generateFacts(ctx: AppContext, incident: IncidentRow, now: Date): Promise<ReviewFacts> {
	const [servicesMap, members, reports, runs, deviations, surveys, clocks] = await Promise.all([
		incidentsRepo.servicesOf(ctx.db, [incident.id]),
		reviewsRepo.allMembers(ctx.db, incident.id),
		commsRepo.listSent(ctx.db, { incidentIds: [incident.id], kind: 'head_office_report' }),
		reviewsRepo.playbookRuns(ctx.db, incident.id),
		reviewsRepo.deviations(ctx.db, incident.id),
		surveysRepo.listByIncidents(ctx.db, [incident.id]),
		evaluateIncident(ctx, incident, now)
	]);
	const acks = await commsRepo.listAcks(
		ctx.db,
		reports.map((r) => r.id)
	);
	const approvers = await usersRepo.listByIds(
		ctx.db,
		reports.map((r) => r.approved_by).filter((x): x is string => !!x)
	);
	const services = servicesMap.get(incident.id) ?? [];
	const doc = ctx.collab
		? await ctx.collab.read(incident.id, (d) => ({
				entries: listEntries(d),
				checklist: readChecklist(checklistOf(d).toJSON() as Record<string, unknown>)
			}))
		: { entries: [] as TimelineEntry[], checklist: [] as ReturnType<typeof readChecklist> };

	const ordered = pinnedFirst(doc.entries);
	const titlesByPlaybook = new Map<string, ReturnType<typeof stepTitles>>();
	const lateDeviation = new Set(deviations.filter((d) => d.kind === 'late').map((d) => `${d.playbook_id}:${d.step_id}`));
	const playbooks: ReviewFacts['playbooks'] = runs.map((run) => {
		const playbook = run.snapshot as Playbook;
		const titles = stepTitles(playbook);
		titlesByPlaybook.set(run.playbook_id, titles);
		const items = doc.checklist.filter((i) => i.playbookId === run.playbook_id).sort((a, b) => a.order - b.order);
		const steps = items.map((i) => {
			// Late: done after its due time, or explained as late by a recorded deviation.
			const late = (i.state === 'done' && !!i.dueAt && !!i.doneAt && i.doneAt > i.dueAt) || lateDeviation.has(i.key);
			return {
				stepId: i.stepId,
				title: i.title,
				mandatory: i.mandatory,
				state: i.state,
				late,
				dueAt: i.dueAt,
				doneAt: i.doneAt,
				doneByName: i.doneByName,
				skipReason: i.skipReason
			};
		});
		return {
			playbookId: run.playbook_id,
			title: playbook.title,
			steps,
			done: steps.filter((s) => s.state === 'done').length,
			skipped: steps.filter((s) => s.state === 'skipped').length,
			late: steps.filter((s) => s.late).length,
			open: steps.filter((s) => s.state === 'open').length
		};
	});

	const answered = surveys.filter((s) => s.used_at && s.score !== null);
	const times = {
		detectedAt: incident.detected_at,
		declaredAt: incident.declared_at,
		firstAckAt: incident.first_acked_at,
		mitigatedAt: incident.mitigated_at,
		resolvedAt: incident.resolved_at
	};
	return {
		generatedAt: now.toISOString(),
		incident: {
			id: incident.id,
			number: incident.number,
			title: incident.title,
			description: incident.description,
			priority: incident.priority,
			impact: incident.impact,
			urgency: incident.urgency,
			status: incident.status,
			drill: incident.drill,
			restricted: incident.restricted
		},
		services: services.map((s) => ({ code: s.code, nameZh: s.name_zh, nameEn: s.name_en, regions: s.regions })),
		regions: [...new Set(services.flatMap((s) => s.regions))].sort(),
		times: {
			detectedAt: incident.detected_at.toISOString(),
			declaredAt: iso(incident.declared_at),
			firstAckedAt: iso(incident.first_acked_at),
			mitigatedAt: iso(incident.mitigated_at),
			resolvedAt: iso(incident.resolved_at),
			closedAt: iso(incident.closed_at)
		},
		durationMs: incidentDurations(times).timeToResolveMs,
		stages: responseStages(times, incident.priority),
		clocks: clocks.evaluation.clocks.map((c) => ({ kind: c.kind, dueAt: c.dueAt.toISOString(), metAt: iso(c.metAt), state: c.state })),
		timeline: ordered.slice(0, REVIEW_TIMELINE_MAX).map((e) => ({
			id: e.id,
			at: e.at,
			kind: e.kind,
			text: e.text,
			i18n: e.i18n,
			authorName: e.authorName,
			pinned: e.pinned
		})),
		timelineTruncated: ordered.length > REVIEW_TIMELINE_MAX,
		reports: reports.map((r) => {
			const mine = acks.filter((a) => a.communication_id === r.id);
			const first = mine[0]?.acked_at ?? null;
			return {
				id: r.id,
				reportKind: r.report_kind,
				sequence: r.sequence,
				sentAt: iso(r.sent_at),
				approvedBy: approvers.find((u) => u.id === r.approved_by)?.display_name ?? null,
				acks: mine.map((a) => ({ name: a.display_name, at: a.acked_at.toISOString() })),
				ackDelayMs: first && r.sent_at ? Math.max(0, first.getTime() - r.sent_at.getTime()) : null
			};
		}),
		playbooks,
		deviations: deviations.map((d) => ({
			playbookId: d.playbook_id,
			stepId: d.step_id,
			stepTitle: titlesByPlaybook.get(d.playbook_id)?.get(d.step_id)?.title ?? null,
			kind: d.kind,
			reason: d.reason,
			recordedBy: d.recorded_by_name ?? null,
			at: d.recorded_at.toISOString()
		})),
		participants: members.map((m) => ({
			userId: m.user_id,
			name: m.display_name,
			role: m.role,
			addedAt: m.added_at.toISOString(),
			removedAt: iso(m.removed_at),
			ackedAt: iso(m.acked_at)
		})),
		satisfaction: {
			...satisfaction(surveys),
			responses: answered.map((s) => ({
				serviceCode: s.service_code,
				recipient: s.recipient_name,
				score: s.score!,
				comment: s.comment,
				at: s.used_at!.toISOString()
			}))
		}
	};
}

async function readNarrative(ctx: AppContext, incidentId: string): Promise<Record<ReviewSection, string>> {
	if (!ctx.collab) return Object.fromEntries(REVIEW_SECTIONS.map((k) => [k, ''])) as Record<ReviewSection, string>;
	return ctx.collab.read(incidentId, (doc: Y.Doc) => readReviewSections(doc));
}

function canStart(status: IncidentStatus): boolean {
	return status === 'resolved' || status === 'closed';
}

/**
 * Creates the incident's review (draft, facts generated now) unless it has one, and makes sure the
 * shared document holds the narrative sections. Idempotent: the follow-up job and the review page
 * both call it. Returns the review row, or an error when the incident is not resolved yet.
 */
export async function ensureReview(ctx: AppContext, incident: IncidentRow): Promise<Result<ReviewRow>> {
	const existing = await reviewsRepo.findByIncident(ctx.db, incident.id);
	if (!existing && !canStart(incident.status))
		return err({ code: 'not_resolved', message: 'The review starts when the incident is resolved', params: { status: incident.status } });
	let row = existing;
	if (!row) {
		const now = ctx.now();
		const facts = await generateFacts(ctx, incident, now);
		row = await reviewsRepo.insertIfAbsent(ctx.db, {
			id: crypto.randomUUID(),
			incident_id: incident.id,
			facts: JSON.stringify(facts),
			facts_generated_at: now,
			created_at: now
		});
	}
	if (ctx.collab) {
		try {
			await ctx.collab.transact(incident.id, (doc) => {
				ensureReviewSections(doc);
			});
		} catch (error) {
			// The review row is committed; the sections are created again on the next visit.
			process.stderr.write(
				JSON.stringify({ level: 'error', msg: 'review sections failed', incidentId: incident.id, error: String(error) }) + '\n'
			);
		}
	}
	return ok(row);
}

async function viewOf(
	ctx: AppContext,
	actor: Actor,
	loaded: { incident: IncidentRow; member: { role: IncidentRole } | undefined },
	row: ReviewRow
): Promise<ReviewView> {
	const { incident } = loaded;
	const allowed = allowedOperations(actor, { incident, member: loaded.member });
	const [versions, narrative, items, people] = await Promise.all([
		reviewsRepo.listVersions(ctx.db, row.id),
		readNarrative(ctx, incident.id),
		listActionItemsOf(ctx, incident.id),
		usersRepo.listByIds(
			ctx.db,
			[row.signed_off_by, row.waived_by].filter((x): x is string => !!x)
		)
	]);
	const name = (id: string | null) => (id ? (people.find((p) => p.id === id)?.display_name ?? null) : null);
	return {
		id: row.id,
		incidentId: incident.id,
		state: row.state,
		version: row.version,
		rowVersion: row.row_version,
		facts: row.facts as ReviewFacts,
		narrative,
		published:
			row.content && row.content_hash ? { version: row.version, content: row.content as ReviewContent, hash: row.content_hash } : null,
		versions: versions.map((v) => ({
			version: v.version,
			hash: v.content_hash,
			publishedBy: v.published_by_name ?? null,
			publishedAt: v.published_at
		})),
		actionItems: items,
		submittedAt: row.submitted_at,
		signedOff: row.signed_off_at ? { name: name(row.signed_off_by) ?? '', at: row.signed_off_at } : null,
		waiver: row.waiver_reason && row.waived_at ? { reason: row.waiver_reason, name: name(row.waived_by), at: row.waived_at } : null,
		allowed: {
			write: allowed.write_review,
			publish: allowed.publish_review,
			waive: allowed.waive_review,
			manageItems: allowed.manage_action_items,
			export: allowed.export_incident
		}
	};
}

/**
 * The incident's review for the review page. Opening it on a resolved incident by someone who may
 * write the review starts it; before that, `not_resolved`.
 */
export async function getReview(ctx: AppContext, actor: Actor, opts: { incidentId: unknown }): Promise<Result<ReviewView>> {
	const loaded = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'view_incident' });
	if (!loaded.ok) return loaded;
	let row = await reviewsRepo.findByIncident(ctx.db, loaded.value.incident.id);
	if (!row) {
		const started = await ensureReview(ctx, loaded.value.incident);
		if (!started.ok) return started;
		row = started.value;
	}
	return ok(await viewOf(ctx, actor, loaded.value, row));
}

/** Starts the review of a resolved incident (write_review). Idempotent. */
export async function startReview(ctx: AppContext, actor: Actor, opts: { incidentId: unknown }): Promise<Result<ReviewView>> {
	const loaded = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'write_review' });
	if (!loaded.ok) return loaded;
	const started = await ensureReview(ctx, loaded.value.incident);
	if (!started.ok) return started;
	return ok(await viewOf(ctx, actor, loaded.value, started.value));
}

/** Whether the incident has a published (signed-off) review: what closing a major incident needs. */
export async function hasPublishedReview(ctx: Pick<AppContext, 'db'>, incidentId: string): Promise<boolean> {
	const row = await reviewsRepo.findByIncident(ctx.db, incidentId);
	return !!row && row.version > 0;
}

type Step = 'refresh' | 'submit' | 'return' | 'publish' | 'revise';

const STEP_RULES: Record<Step, { from: readonly ReviewState[]; to: ReviewState; operation: 'write_review' | 'publish_review' }> = {
	refresh: { from: ['draft', 'in_review'], to: 'draft', operation: 'write_review' },
	submit: { from: ['draft'], to: 'in_review', operation: 'write_review' },
	return: { from: ['in_review'], to: 'draft', operation: 'publish_review' },
	publish: { from: ['in_review'], to: 'published', operation: 'publish_review' },
	revise: { from: ['published'], to: 'draft', operation: 'write_review' }
};

function expectedOf(value: unknown): number | undefined | DomainError {
	if (value === undefined || value === null || value === '') return undefined;
	const n = typeof value === 'number' ? value : Number(value);
	if (!Number.isInteger(n) || n < 1)
		return { code: 'invalid_value', message: 'expectedVersion must be a positive whole number', field: 'expectedVersion' };
	return n;
}

/**
 * One step of the workflow. `refresh` regenerates the facts (state unchanged); `publish` freezes the
 * content into the next version, signs it off as the actor and hashes it into the audit chain.
 */
async function step(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: unknown; step: Step; expectedVersion?: unknown }
): Promise<Result<ReviewView>> {
	const rule = STEP_RULES[opts.step];
	const loaded = await loadFor(ctx, actor, { ref: opts.incidentId, operation: rule.operation });
	if (!loaded.ok) return loaded;
	const expected = expectedOf(opts.expectedVersion);
	if (typeof expected === 'object') return err(expected);
	const incident = loaded.value.incident;
	const started = await ensureReview(ctx, incident);
	if (!started.ok) return started;
	if (!rule.from.includes(started.value.state))
		return err(
			conflict(`The review is ${started.value.state}; ${opts.step} needs it to be ${rule.from.join(' or ')}`, {
				state: started.value.state,
				step: opts.step
			})
		);
	const now = ctx.now();
	// Facts are regenerated on every step that leaves the review editable or freezes it, so a
	// publication never carries facts older than the click.
	const facts = await generateFacts(ctx, incident, now);
	const narrative = await readNarrative(ctx, incident.id);
	const items = await listActionItemsOf(ctx, incident.id);

	const outcome = await ctx.db.transaction().execute(async (trx): Promise<Result<ReviewRow>> => {
		const current = await reviewsRepo.findByIncidentForUpdate(trx, incident.id);
		if (!current) return err(notFound());
		if (expected !== undefined && current.row_version !== expected)
			return err(
				conflict(`The review was changed by someone else (version ${current.row_version}, you had ${expected}); reload and try again`, {
					version: current.row_version
				})
			);
		if (!rule.from.includes(current.state))
			return err(conflict(`The review is ${current.state}`, { state: current.state, step: opts.step }));
		const base = { facts: JSON.stringify(facts), facts_generated_at: now, updated_at: now };
		if (opts.step === 'publish') {
			const version = current.version + 1;
			const content: ReviewContent = {
				facts,
				narrative,
				actionItems: items.map((i) => ({
					title: i.title,
					owner: i.ownerName,
					dueDate: i.dueDate,
					type: i.type,
					link: i.link,
					status: i.status
				})),
				signOff: { name: actor.displayName, at: now.toISOString() }
			};
			const hash = hashContent(content);
			await reviewsRepo.insertVersion(trx, {
				review_id: current.id,
				version,
				content: JSON.stringify(content),
				content_hash: hash,
				published_by: actor.userId,
				published_at: now
			});
			const updated = await reviewsRepo.update(trx, {
				id: current.id,
				patch: {
					...base,
					state: 'published',
					version,
					content: JSON.stringify(content),
					content_hash: hash,
					signed_off_by: actor.userId,
					signed_off_at: now
				}
			});
			await audit.record(trx, {
				actorId: actor.userId,
				action: 'review.published',
				subjectType: 'incident',
				subjectId: incident.id,
				before: { state: current.state, version: current.version },
				after: { state: 'published', version, contentHash: hash },
				at: now
			});
			return updated ? ok(updated) : err(notFound());
		}
		const patch =
			opts.step === 'submit'
				? { ...base, state: rule.to, submitted_by: actor.userId, submitted_at: now }
				: { ...base, state: opts.step === 'refresh' ? current.state : rule.to };
		const updated = await reviewsRepo.update(trx, { id: current.id, patch });
		if (opts.step !== 'refresh')
			await audit.record(trx, {
				actorId: actor.userId,
				action: `review.${opts.step}`,
				subjectType: 'incident',
				subjectId: incident.id,
				before: { state: current.state },
				after: { state: patch.state },
				at: now
			});
		return updated ? ok(updated) : err(notFound());
	});
	if (!outcome.ok) return outcome;
	if (opts.step !== 'refresh') {
		const text = bilingualStep(opts.step, actor.displayName, outcome.value.version);
		await afterCommit(ctx, {
			incidentId: incident.id,
			what: `review:${outcome.value.state}`,
			entry: { kind: 'status', text, pinned: opts.step === 'publish' },
			board: false
		});
	}
	return ok(await viewOf(ctx, actor, loaded.value, outcome.value));
}

function bilingualStep(s: Exclude<Step, 'refresh'>, actor: string, version: number): Bilingual {
	const params = { actor, version };
	return { 'zh-CN': translate('zh-CN', `review.timeline.${s}`, params), en: translate('en', `review.timeline.${s}`, params) };
}

export const refreshFacts = (ctx: AppContext, actor: Actor, opts: { incidentId: unknown; expectedVersion?: unknown }) =>
	step(ctx, actor, { ...opts, step: 'refresh' });
export const submitReview = (ctx: AppContext, actor: Actor, opts: { incidentId: unknown; expectedVersion?: unknown }) =>
	step(ctx, actor, { ...opts, step: 'submit' });
export const returnReview = (ctx: AppContext, actor: Actor, opts: { incidentId: unknown; expectedVersion?: unknown }) =>
	step(ctx, actor, { ...opts, step: 'return' });
export const publishReview = (ctx: AppContext, actor: Actor, opts: { incidentId: unknown; expectedVersion?: unknown }) =>
	step(ctx, actor, { ...opts, step: 'publish' });
export const reviseReview = (ctx: AppContext, actor: Actor, opts: { incidentId: unknown; expectedVersion?: unknown }) =>
	step(ctx, actor, { ...opts, step: 'revise' });

/**
 * Records a manager's waiver on the review (waive_review): the reason closing rests on when there is
 * no published review. The incident service's close takes the same reason; this keeps it with the
 * review, where the review page and the exports show it.
 */
export async function waiveReview(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: unknown; reason: unknown }
): Promise<Result<ReviewView>> {
	const loaded = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'waive_review' });
	if (!loaded.ok) return loaded;
	const reason = typeof opts.reason === 'string' ? opts.reason.trim() : '';
	if (!reason) return err({ code: 'required', message: 'Say why the review is waived', field: 'reason' });
	if (reason.length > WAIVER_MAX_CHARS)
		return err({
			code: 'too_long',
			message: `reason must be at most ${WAIVER_MAX_CHARS} characters`,
			field: 'reason',
			params: { max: WAIVER_MAX_CHARS }
		});
	const started = await ensureReview(ctx, loaded.value.incident);
	if (!started.ok) return started;
	if (started.value.version > 0) return err(conflict('The review is already published; there is nothing to waive'));
	const now = ctx.now();
	const updated = await ctx.db.transaction().execute(async (trx) => {
		const row = await reviewsRepo.update(trx, {
			id: started.value.id,
			patch: { waiver_reason: reason, waived_by: actor.userId, waived_at: now, updated_at: now }
		});
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'review.waived',
			subjectType: 'incident',
			subjectId: loaded.value.incident.id,
			after: { reason },
			at: now
		});
		return row;
	});
	if (!updated) return err(notFound());
	return ok(await viewOf(ctx, actor, loaded.value, updated));
}

/** A published version's frozen content (view_incident). */
export async function getReviewVersion(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: unknown; version: unknown }
): Promise<Result<{ version: number; content: ReviewContent; hash: string; publishedAt: Date; publishedBy: string | null }>> {
	const loaded = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'view_incident' });
	if (!loaded.ok) return loaded;
	const n = Number(opts.version);
	if (!Number.isInteger(n) || n < 1)
		return err({ code: 'invalid_value', message: 'version must be a positive whole number', field: 'version' });
	const row = await reviewsRepo.findByIncident(ctx.db, loaded.value.incident.id);
	const v = row ? await reviewsRepo.findVersion(ctx.db, { reviewId: row.id, version: n }) : undefined;
	if (!v) return err({ code: 'not_found', message: `No published version ${n} of this review` });
	return ok({
		version: v.version,
		content: v.content as ReviewContent,
		hash: v.content_hash,
		publishedAt: v.published_at,
		publishedBy: v.published_by_name ?? null
	});
}

/**
 * What an export renders: a published version (the given one, or the latest when the review is
 * published) or, otherwise, the current draft marked as such.
 */
export async function contentForExport(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: unknown; version?: unknown }
): Promise<Result<{ content: ReviewContent; state: ReviewState; version: number | null; hash: string | null }>> {
	const loaded = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'export_incident' });
	if (!loaded.ok) return loaded;
	if (opts.version !== undefined && opts.version !== null && opts.version !== '') {
		const v = await getReviewVersion(ctx, actor, { incidentId: loaded.value.incident.id, version: opts.version });
		if (!v.ok) return v;
		return ok({ content: v.value.content, state: 'published', version: v.value.version, hash: v.value.hash });
	}
	const started = await ensureReview(ctx, loaded.value.incident);
	if (!started.ok) return started;
	const row = started.value;
	if (row.state === 'published' && row.content && row.content_hash)
		return ok({ content: row.content as ReviewContent, state: row.state, version: row.version, hash: row.content_hash });
	const items = await listActionItemsOf(ctx, loaded.value.incident.id);
	const content: ReviewContent = {
		facts: await generateFacts(ctx, loaded.value.incident, ctx.now()),
		narrative: await readNarrative(ctx, loaded.value.incident.id),
		actionItems: items.map((i) => ({
			title: i.title,
			owner: i.ownerName,
			dueDate: i.dueDate,
			type: i.type,
			link: i.link,
			status: i.status
		})),
		signOff: null
	};
	return ok({ content, state: row.state, version: null, hash: null });
}

/** The follow-up job's part: start the review of every resolved incident that has none. */
export async function startPendingReviews(ctx: AppContext, opts: { limit?: number } = {}): Promise<number> {
	const pending = await reviewsRepo.resolvedWithoutReview(ctx.db, { limit: opts.limit ?? 50 });
	let started = 0;
	for (const { id } of pending) {
		const incident = await incidentsRepo.findById(ctx.db, id);
		if (!incident) continue;
		const r = await ensureReview(ctx, incident);
		if (r.ok) started++;
	}
	return started;
}
