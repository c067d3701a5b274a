/**
 * The SLA and update clocks of incidents, evaluated from the database (domain/clocks.ts does the
 * arithmetic), and the escalation-clocks tick that acts on them.
 *
 * A tick is idempotent and catches up after downtime because it is driven by facts, not timers:
 * - it evaluates every incident's clocks at `now` and asks `dueReminders` for what is due and not in
 *   `reminders_sent`; each reminder's key is claimed with an insert before anything is sent, so two
 *   ticks (or two nodes) racing for it send once;
 * - a warning whose window passed while the process was down is not sent late — the breach is
 *   (dueReminders' rule), once;
 * - breaches are recorded in `clock_breaches` (unique per clock and due time) for the SLA figures,
 *   and a late completion fills in `met_at`;
 * - on breach it re-notifies, re-pages a member who did not acknowledge (through `pageMembers`, the
 *   same service the war room uses), and escalates one level up the organisation for the report and
 *   update clocks;
 * - it delivers reports left approved-but-not-sent by a crash.
 */
import { dueReminders, evaluatePolicy, type Clock, type ClockKind, type PolicyEvaluation, type Reminder } from '../../domain/clocks';
import { escalationLevels, nextLevel, type OrgUnit, type EscalationPolicy } from '../../domain/escalation-policy';
import type { Priority } from '../../domain/priority';
import { ok, type Result } from '../../domain/result';
import { translate, type Params } from '../../i18n/index';
import { SYSTEM_ACTOR, type Actor, type AppContext } from '../context';
import type { IncidentRow, OrgUnitRow } from '../db/schema';
import { log } from '../log';
import * as commsRepo from '../repositories/communications.repository';
import * as escalationRepo from '../repositories/escalation.repository';
import * as membersRepo from '../repositories/incident-members.repository';
import * as incidentsRepo from '../repositories/incidents.repository';
import * as orgUnitsRepo from '../repositories/org-units.repository';
import { deliverApproved, headOfficeUserIds, policyForIncident } from './escalation.service';
import { afterCommit, loadFor, notify, type Bilingual } from './incident.service';
import { pageMembers } from './membership.service';

/** Clocks whose breach escalates one level up the organisation (the policy's chain). */
const ESCALATE_ON_BREACH: ReadonlySet<ClockKind> = new Set(['report_due', 'next_update_due']);
const MINUTE_MS = 60_000;

function bi(key: string, params: Params = {}): Bilingual {
	return { 'zh-CN': translate('zh-CN', key, params), en: translate('en', key, params) };
}

function clockLabel(kind: ClockKind): Bilingual {
	return bi(`clock.kind.${kind}`);
}

function fmt(d: Date, timeZone: string): string {
	return new Intl.DateTimeFormat('en-CA', {
		timeZone,
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		hourCycle: 'h23'
	})
		.format(d)
		.replace(',', '');
}

const RANK: Record<Priority, number> = { P1: 1, P2: 2, P3: 3, P4: 4, P5: 5 };

export interface IncidentClocks {
	evaluation: PolicyEvaluation;
	policy: EscalationPolicy;
}

/** Evaluates one incident's clocks at `now` from what the database knows. */
export async function evaluateIncident(ctx: AppContext, incident: IncidentRow, now: Date): Promise<IncidentClocks> {
	const [servicesMap, members, reports, statusUpdates, changes] = await Promise.all([
		incidentsRepo.servicesOf(ctx.db, [incident.id]),
		membersRepo.listActive(ctx.db, [incident.id]),
		commsRepo.listSent(ctx.db, { incidentIds: [incident.id], kind: 'head_office_report' }),
		commsRepo.lastApprovedStatusUpdates(ctx.db, [incident.id]),
		escalationRepo.priorityChanges(ctx.db, [incident.id])
	]);
	const regions = (servicesMap.get(incident.id) ?? []).flatMap((s) => s.regions);
	const policy = await policyForIncident(ctx, incident, regions);
	const acks = await commsRepo.listAcks(
		ctx.db,
		reports.map((r) => r.id)
	);
	// Raised = moved to a more urgent priority; the report window then runs from the raise.
	const raises = changes.filter((c) => c.before && c.after && RANK[c.after as Priority] < RANK[c.before as Priority]);
	const lastApproved =
		[statusUpdates[0]?.approved_at, ...reports.map((r) => r.sent_at)]
			.filter((d): d is Date => !!d)
			.sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
	const evaluation = evaluatePolicy({
		incident: {
			priority: incident.priority,
			declaredAt: incident.declared_at,
			regions,
			drill: incident.drill,
			status: incident.status,
			priorityRaisedAt: raises[raises.length - 1]?.at ?? null,
			reopenedAt: incident.reopened_at
		},
		policy,
		reports: reports.map((r) => ({
			id: r.id,
			kind: r.report_kind ?? 'initial',
			sentAt: r.sent_at!,
			ackedAt:
				acks
					.filter((a) => a.communication_id === r.id)
					.map((a) => a.acked_at)
					.sort((a, b) => a.getTime() - b.getTime())[0] ?? null
		})),
		// A progress report to head office is an update too: either resets the update clock.
		lastApprovedUpdateAt: lastApproved,
		// The latest page is the running clock; an earlier unanswered page was re-paged (a new clock).
		members: members.filter((m) => m.last_paged_at).map((m) => ({ id: m.user_id, pagedAt: m.last_paged_at!, ackedAt: m.acked_at })),
		now
	});
	return { evaluation, policy };
}

export interface ClockView extends Clock {
	label: Bilingual;
}

/** The clocks for the war room's escalation panel. */
export async function getClocks(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string }
): Promise<
	Result<{ clocks: ClockView[]; mustEscalateToHeadOffice: boolean; reasons: string[]; drill: boolean; policy: EscalationPolicy; now: Date }>
> {
	const loaded = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'view_incident' });
	if (!loaded.ok) return loaded;
	const now = ctx.now();
	const { evaluation, policy } = await evaluateIncident(ctx, loaded.value.incident, now);
	return ok({
		clocks: evaluation.clocks.map((c) => ({ ...c, label: clockLabel(c.kind) })),
		mustEscalateToHeadOffice: evaluation.mustEscalateToHeadOffice,
		reasons: evaluation.headOfficeReasons,
		drill: evaluation.drill,
		policy,
		now
	});
}

/** The org path of a unit, head office first. */
function pathOf(units: readonly OrgUnitRow[], id: string | null): OrgUnit[] {
	const out: OrgUnit[] = [];
	const seen = new Set<string>();
	let cur = id ? units.find((u) => u.id === id) : undefined;
	while (cur && !seen.has(cur.id)) {
		seen.add(cur.id);
		out.unshift({ id: cur.id, kind: cur.kind });
		cur = cur.parent_id ? units.find((u) => u.id === cur!.parent_id) : undefined;
	}
	return out;
}

export interface TickOutcome {
	reminders: number;
	breaches: number;
	delivered: number;
	repaged: number;
}

/** One tick of the escalation-clocks job at `now`. */
export async function runEscalationClocks(ctx: AppContext, now: Date): Promise<TickOutcome> {
	const outcome: TickOutcome = { reminders: 0, breaches: 0, delivered: 0, repaged: 0 };
	for (const id of await escalationRepo.approvedUndelivered(ctx.db)) {
		if (await deliverApproved(ctx, { id })) outcome.delivered++;
	}
	const incidents = await escalationRepo.incidentsWithClocks(ctx.db);
	if (incidents.length === 0) return outcome;
	const sent = await escalationRepo.sentKeys(
		ctx.db,
		incidents.map((i) => i.id)
	);
	let units: OrgUnitRow[] | undefined;
	for (const incident of incidents) {
		try {
			const { evaluation } = await evaluateIncident(ctx, incident, now);
			for (const clock of evaluation.clocks) {
				if (clock.state === 'breached') {
					await escalationRepo.recordBreach(ctx.db, {
						id: crypto.randomUUID(),
						incidentId: incident.id,
						clockKind: clock.kind,
						subjectId: clock.subjectId ?? '',
						dueAt: clock.dueAt,
						breachedAt: new Date(clock.dueAt.getTime() + 1),
						metAt: clock.metAt ?? null
					});
				}
			}
			for (const reminder of dueReminders({ incidentId: incident.id, clocks: evaluation.clocks, alreadySent: sent, now })) {
				const claimed = await escalationRepo.claimReminder(ctx.db, {
					key: reminder.key,
					incidentId: incident.id,
					clockKind: reminder.kind,
					stage: reminder.stage,
					dueAt: reminder.dueAt,
					at: now
				});
				if (!claimed) continue;
				outcome.reminders++;
				if (reminder.stage === 'breach') outcome.breaches++;
				units ??= await orgUnitsRepo.list(ctx.db);
				outcome.repaged += await act(ctx, { incident, reminder, now, units });
			}
		} catch (error) {
			// One incident's bad data must not stop the others' reminders.
			log.error('escalation clocks: incident failed', { incidentId: incident.id, error });
		}
	}
	return outcome;
}

/** Sends one claimed reminder and does what its breach calls for. Returns members re-paged. */
async function act(ctx: AppContext, opts: { incident: IncidentRow; reminder: Reminder; now: Date; units: OrgUnitRow[] }): Promise<number> {
	const { incident, reminder, now } = opts;
	const tz = ctx.config.orgTimeZone;
	const label = clockLabel(reminder.kind);
	const members = await membersRepo.listActive(ctx.db, [incident.id]);
	const command = members.filter((m) => ['incident_manager', 'deputy', 'communications_lead'].includes(m.role)).map((m) => m.user_id);
	const minutes = Math.max(0, Math.ceil((reminder.dueAt.getTime() - now.getTime()) / MINUTE_MS));
	const params = (locale: 'zh-CN' | 'en') => ({
		number: incident.number,
		clock: label[locale],
		minutes,
		title: incident.title,
		due: fmt(reminder.dueAt, tz)
	});
	const title: Bilingual = {
		'zh-CN': translate('zh-CN', reminder.stage === 'warning' ? 'clock.notify.warningTitle' : 'clock.notify.breachTitle', params('zh-CN')),
		en: translate('en', reminder.stage === 'warning' ? 'clock.notify.warningTitle' : 'clock.notify.breachTitle', params('en'))
	};
	const body: Bilingual = {
		'zh-CN': translate('zh-CN', 'clock.notify.body', params('zh-CN')),
		en: translate('en', 'clock.notify.body', params('en'))
	};
	let recipients = command;
	if (reminder.kind === 'member_ack_due' && reminder.subjectId) recipients = [...new Set([...command, reminder.subjectId])];
	if (reminder.kind === 'head_office_ack_due' && reminder.stage === 'breach')
		recipients = [...new Set([...command, ...(await headOfficeUserIds(ctx))])];
	await notify(ctx, {
		event: reminder.stage === 'warning' ? 'clock.warning' : 'clock.breach',
		incidentId: incident.id,
		recipients,
		title,
		body,
		link: `/incidents/${incident.id}/escalation`,
		restricted: incident.restricted,
		dedupeKey: `clock:${reminder.key}`
	});
	if (reminder.stage !== 'breach') return 0;

	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'clock_breach',
		board: true,
		entry: {
			kind: 'escalation',
			text: {
				'zh-CN': translate('zh-CN', 'clock.timeline.breach', params('zh-CN')),
				en: translate('en', 'clock.timeline.breach', params('en'))
			}
		}
	});

	if (reminder.kind === 'member_ack_due' && reminder.subjectId) {
		const r = await pageMembers(ctx, SYSTEM_ACTOR, { incidentId: incident.id, userIds: [reminder.subjectId] });
		if (!r.ok)
			log.warn('escalation clocks: re-page failed', { incidentId: incident.id, userId: reminder.subjectId, error: r.error.message });
		return r.ok ? r.value.length : 0;
	}

	if (ESCALATE_ON_BREACH.has(reminder.kind)) {
		// One level up from the incident manager's unit (team → regional centre → head office).
		const im = members.find((m) => m.role === 'incident_manager');
		const levels = escalationLevels(pathOf(opts.units, im?.org_unit_id ?? null));
		const up = im?.org_unit_id ? nextLevel(levels, im.org_unit_id) : (levels.find((l) => l.kind === 'head_office') ?? null);
		if (!up) return 0;
		const unit = opts.units.find((u) => u.id === up.id);
		const managers = await escalationRepo.activeUsersIn(ctx.db, { orgUnitIds: [up.id], roles: ['manager', 'admin'] });
		await notify(ctx, {
			event: 'clock.escalated',
			incidentId: incident.id,
			recipients: managers,
			title: {
				'zh-CN': translate('zh-CN', 'clock.notify.escalatedTitle', params('zh-CN')),
				en: translate('en', 'clock.notify.escalatedTitle', params('en'))
			},
			body,
			link: `/incidents/${incident.id}/escalation`,
			restricted: incident.restricted,
			dedupeKey: `clock:${reminder.key}:escalated`
		});
		if (unit)
			await afterCommit(ctx, {
				incidentId: incident.id,
				what: 'escalated',
				board: false,
				entry: {
					kind: 'escalation',
					text: {
						'zh-CN': translate('zh-CN', 'clock.timeline.escalated', { ...params('zh-CN'), unit: unit.name_zh }),
						en: translate('en', 'clock.timeline.escalated', { ...params('en'), unit: unit.name_en })
					}
				}
			});
	}
	return 0;
}

/** Breaches of these incidents (for the SLA figures and the review). */
export async function listBreaches(ctx: AppContext, incidentIds: readonly string[]) {
	return escalationRepo.listBreaches(ctx.db, incidentIds);
}
