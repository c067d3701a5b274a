/**
 * SLA and update clocks (issue 6): from an incident, the escalation policy and what has happened so
 * far, the deadlines that are running now and their state at `now`. The escalation job calls
 * `evaluatePolicy` on every tick and `dueReminders` to find what to send; it dedupes by the reminder
 * key, so a tick that runs twice, or a node that restarts, sends nothing twice.
 *
 * States: `ok` (before the warning), `warning` (within the warning lead, not yet due), `breached`
 * (past due and not done, or done late — then `metAt` is set), `met` (done in time). Done exactly at
 * the due instant is in time.
 *
 * Which clocks run:
 * - `report_due` — once declared, when head office must be told (see `headOfficeRequirement`); due
 *   from declaration, or from when the priority was raised to its current level so an upgrade does
 *   not start already breached. Met by the first report sent. Still owed after resolution.
 * - `next_update_due` — while active (investigating/identified/mitigated), one interval after the
 *   later of declaration, priority raise, reopen and the last approved update. Rolling: never `met`.
 * - `head_office_ack_due` — per sent report, until head office acknowledges it.
 * - `member_ack_due` — per page while proposed or active; a breach means "page again", and the new
 *   page is a new clock.
 * - `action_item_due` — per open action item, after closure too (followed until done).
 *
 * Drills run the same clocks — timing is what a drill exercises. `drill` is passed through so the
 * notifier sends drill reports to the drill channel, never to the real head office, and metrics keep
 * drills apart.
 */
import { MINUTE_MS, headOfficeRequirement, type EscalationPolicy, type HeadOfficeReason } from './escalation-policy';
import { isActiveStatus, type IncidentStatus } from './incident-status';
import type { Priority } from './priority';

export const CLOCK_KINDS = ['report_due', 'next_update_due', 'head_office_ack_due', 'member_ack_due', 'action_item_due'] as const;
export type ClockKind = (typeof CLOCK_KINDS)[number];

export type ClockState = 'ok' | 'warning' | 'breached' | 'met';

export type ReportKind = 'initial' | 'progress' | 'final';

export interface Clock {
	kind: ClockKind;
	dueAt: Date;
	/** When the warning goes out (`dueAt` minus the warning lead). */
	warnAt: Date;
	state: ClockState;
	/** When it was done: in time (`met`) or late (`breached`). */
	metAt?: Date;
	/** The report, member (page) or action item the clock is about. */
	subjectId?: string;
}

export interface PolicyIncident {
	priority: Priority;
	/** Null while only proposed. */
	declaredAt: Date | null;
	/** Regions of the affected services (duplicates allowed). */
	regions: readonly string[];
	drill: boolean;
	status: IncidentStatus;
	/** When the priority was last raised (set only on upgrades). */
	priorityRaisedAt?: Date | null;
	reopenedAt?: Date | null;
}

export interface SentReport {
	id?: string;
	kind: ReportKind;
	sentAt: Date;
	ackedAt?: Date | null;
}

export interface Page {
	/** The paged member (user id); becomes the clock's subjectId. */
	id?: string;
	pagedAt: Date;
	ackedAt?: Date | null;
}

export interface OpenActionItem {
	id: string;
	dueAt: Date;
	doneAt?: Date | null;
}

export interface EvaluatePolicyInput {
	incident: PolicyIncident;
	policy: EscalationPolicy;
	reports: readonly SentReport[];
	lastApprovedUpdateAt: Date | null;
	members: readonly Page[];
	actionItems?: readonly OpenActionItem[];
	now: Date;
}

export interface PolicyEvaluation {
	clocks: Clock[];
	mustEscalateToHeadOffice: boolean;
	headOfficeReasons: HeadOfficeReason[];
	drill: boolean;
}

function addMinutes(at: Date, minutes: number): Date {
	return new Date(at.getTime() + minutes * MINUTE_MS);
}

function latest(...dates: (Date | null | undefined)[]): Date | null {
	let best: Date | null = null;
	for (const d of dates) if (d && (!best || d.getTime() > best.getTime())) best = d;
	return best;
}

/** Builds one clock and its state at `now`. */
export function makeClock(options: {
	kind: ClockKind;
	dueAt: Date;
	warningLeadMinutes: number;
	metAt?: Date | null;
	subjectId?: string;
	now: Date;
}): Clock {
	const { kind, dueAt, metAt, subjectId, now } = options;
	const warnAt = addMinutes(dueAt, -options.warningLeadMinutes);
	let state: ClockState;
	if (metAt) state = metAt.getTime() <= dueAt.getTime() ? 'met' : 'breached';
	else if (now.getTime() > dueAt.getTime()) state = 'breached';
	else if (now.getTime() >= warnAt.getTime()) state = 'warning';
	else state = 'ok';
	const clock: Clock = { kind, dueAt, warnAt, state };
	if (metAt) clock.metAt = metAt;
	if (subjectId !== undefined) clock.subjectId = subjectId;
	return clock;
}

export function evaluatePolicy(input: EvaluatePolicyInput): PolicyEvaluation {
	const { incident, policy, now } = input;
	const lead = policy.warningLeadMinutes;
	const clocks: Clock[] = [];
	const requirement = headOfficeRequirement({
		priority: incident.priority,
		regions: incident.regions,
		policy
	});
	const active = isActiveStatus(incident.status);
	const declaredAt = incident.declaredAt;

	if (declaredAt && requirement.withinMinutes !== null) {
		const from = latest(declaredAt, incident.priorityRaisedAt) ?? declaredAt;
		const firstSent = [...input.reports].sort((a, b) => a.sentAt.getTime() - b.sentAt.getTime())[0];
		clocks.push(
			makeClock({
				kind: 'report_due',
				dueAt: addMinutes(from, requirement.withinMinutes),
				warningLeadMinutes: lead,
				metAt: firstSent?.sentAt ?? null,
				now
			})
		);
	}

	const interval = policy.updateIntervalMinutes[incident.priority];
	if (declaredAt && active && interval !== undefined) {
		const from = latest(declaredAt, incident.priorityRaisedAt, incident.reopenedAt, input.lastApprovedUpdateAt) ?? declaredAt;
		clocks.push(
			makeClock({
				kind: 'next_update_due',
				dueAt: addMinutes(from, interval),
				warningLeadMinutes: lead,
				now
			})
		);
	}

	input.reports.forEach((report, i) => {
		clocks.push(
			makeClock({
				kind: 'head_office_ack_due',
				dueAt: addMinutes(report.sentAt, policy.headOfficeAckMinutes),
				warningLeadMinutes: lead,
				metAt: report.ackedAt ?? null,
				subjectId: report.id ?? `${report.kind}-${i + 1}`,
				now
			})
		);
	});

	if (active || incident.status === 'proposed') {
		input.members.forEach((page, i) => {
			clocks.push(
				makeClock({
					kind: 'member_ack_due',
					dueAt: addMinutes(page.pagedAt, policy.memberAckMinutes),
					warningLeadMinutes: Math.min(lead, policy.memberAckMinutes),
					metAt: page.ackedAt ?? null,
					subjectId: page.id ?? `page-${i + 1}`,
					now
				})
			);
		});
	}

	for (const item of input.actionItems ?? []) {
		clocks.push(
			makeClock({
				kind: 'action_item_due',
				dueAt: item.dueAt,
				warningLeadMinutes: policy.actionItemWarningLeadMinutes,
				metAt: item.doneAt ?? null,
				subjectId: item.id,
				now
			})
		);
	}

	return {
		clocks,
		mustEscalateToHeadOffice: declaredAt !== null && requirement.required,
		headOfficeReasons: requirement.reasons,
		drill: incident.drill
	};
}

export type ReminderStage = 'warning' | 'breach';

export interface Reminder {
	key: string;
	incidentId: string;
	kind: ClockKind;
	stage: ReminderStage;
	dueAt: Date;
	subjectId?: string;
}

/**
 * `${incidentId}:${kind}:${dueAt ISO}:${stage}`, plus `:${subjectId}` when the clock has one — two
 * members paged in the same minute have the same due time, and must not share a key.
 */
export function reminderKey(options: {
	incidentId: string;
	kind: ClockKind;
	dueAt: Date;
	stage: ReminderStage;
	subjectId?: string;
}): string {
	const base = `${options.incidentId}:${options.kind}:${options.dueAt.toISOString()}:${options.stage}`;
	return options.subjectId === undefined ? base : `${base}:${options.subjectId}`;
}

/**
 * The reminders to send at `now` that have not been sent. A clock in its warning window yields a
 * warning; past due and not done, a breach. A warning whose window passed while nothing ran is not
 * sent late: the breach supersedes it. Met clocks (and clocks done late) yield nothing. Decided on
 * instants only, so the result does not depend on the server's or the organisation's time zone.
 */
export function dueReminders(options: {
	incidentId: string;
	clocks: readonly Clock[];
	alreadySent: ReadonlySet<string>;
	now: Date;
}): Reminder[] {
	const { incidentId, alreadySent } = options;
	const now = options.now.getTime();
	const out: Reminder[] = [];
	for (const clock of options.clocks) {
		if (clock.metAt) continue;
		const due = clock.dueAt.getTime();
		let stage: ReminderStage | null = null;
		if (now > due) stage = 'breach';
		else if (now >= clock.warnAt.getTime()) stage = 'warning';
		if (!stage) continue;
		const key = reminderKey({
			incidentId,
			kind: clock.kind,
			dueAt: clock.dueAt,
			stage,
			...(clock.subjectId !== undefined ? { subjectId: clock.subjectId } : {})
		});
		if (alreadySent.has(key)) continue;
		const reminder: Reminder = { key, incidentId, kind: clock.kind, stage, dueAt: clock.dueAt };
		if (clock.subjectId !== undefined) reminder.subjectId = clock.subjectId;
		out.push(reminder);
	}
	return out;
}
