/**
 * Review and report metrics (issues 7/8): durations between an incident's key times, MTTA/MTTR over a
 * period, SLA attainment per clock kind, counts, service health for the board, and the status line
 * shown to stakeholders. Durations are milliseconds; the UI formats them.
 *
 * Definitions (say these out loud in the monthly service-quality report, 服务质量报告):
 * - The response starts at detection (`detectedAt`, from monitoring or the first call); when no
 *   detection time was recorded, at declaration.
 * - MTTA = mean of start → first acknowledgement (the first paged member to acknowledge).
 * - MTTM = mean of start → mitigated; MTTR = mean of start → resolved.
 * - A duration whose end is missing, or earlier than its start (bad data), is left out of the means —
 *   never counted as zero or negative. `samples` says how many incidents each mean covers.
 * - Drills are never mixed into service metrics: they are summarised apart (DOMAIN.md: drills are
 *   reviewed the same way but kept out of the service metrics), and never affect service health.
 */
import type { ClockKind, ClockState } from './clocks';
import { CLOCK_KINDS } from './clocks';
import { isActiveStatus, type IncidentStatus } from './incident-status';
import { PRIORITIES, type Impact, type Priority } from './priority';

export interface IncidentTimes {
	detectedAt?: Date | null;
	declaredAt?: Date | null;
	firstAckAt?: Date | null;
	mitigatedAt?: Date | null;
	resolvedAt?: Date | null;
}

/** Each stage of the response, and the totals from the start. Null when it cannot be measured. */
export interface IncidentDurations {
	detectToDeclareMs: number | null;
	declareToAckMs: number | null;
	ackToMitigateMs: number | null;
	mitigateToResolveMs: number | null;
	timeToAcknowledgeMs: number | null;
	timeToMitigateMs: number | null;
	timeToResolveMs: number | null;
}

function span(from: Date | null | undefined, to: Date | null | undefined): number | null {
	if (!from || !to) return null;
	const ms = to.getTime() - from.getTime();
	return ms >= 0 ? ms : null;
}

export function incidentDurations(times: IncidentTimes): IncidentDurations {
	const start = times.detectedAt ?? times.declaredAt;
	return {
		detectToDeclareMs: span(times.detectedAt, times.declaredAt),
		declareToAckMs: span(times.declaredAt, times.firstAckAt),
		ackToMitigateMs: span(times.firstAckAt, times.mitigatedAt),
		mitigateToResolveMs: span(times.mitigatedAt, times.resolvedAt),
		timeToAcknowledgeMs: span(start, times.firstAckAt),
		timeToMitigateMs: span(start, times.mitigatedAt),
		timeToResolveMs: span(start, times.resolvedAt)
	};
}

export interface MetricIncident extends IncidentTimes {
	id: string;
	priority: Priority;
	drill: boolean;
	serviceIds: readonly string[];
}

export interface Mean {
	/** Null when no incident could be measured. */
	meanMs: number | null;
	samples: number;
}

export interface IncidentSummary {
	count: number;
	mtta: Mean;
	mttm: Mean;
	mttr: Mean;
	byPriority: Record<Priority, number>;
	/** Incidents per affected service; an incident affecting two services counts for each. */
	byService: Record<string, number>;
}

function mean(values: (number | null)[]): Mean {
	const xs = values.filter((v): v is number => v !== null);
	return {
		meanMs: xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null,
		samples: xs.length
	};
}

function summarize(incidents: readonly MetricIncident[]): IncidentSummary {
	const durations = incidents.map(incidentDurations);
	const byPriority = Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<Priority, number>;
	const byService: Record<string, number> = {};
	for (const incident of incidents) {
		byPriority[incident.priority] += 1;
		for (const service of new Set(incident.serviceIds)) {
			byService[service] = (byService[service] ?? 0) + 1;
		}
	}
	return {
		count: incidents.length,
		mtta: mean(durations.map((d) => d.timeToAcknowledgeMs)),
		mttm: mean(durations.map((d) => d.timeToMitigateMs)),
		mttr: mean(durations.map((d) => d.timeToResolveMs)),
		byPriority,
		byService
	};
}

/** Service metrics over real incidents, and the same for drills, apart. */
export function incidentMetrics(incidents: readonly MetricIncident[]): {
	service: IncidentSummary;
	drills: IncidentSummary;
} {
	return {
		service: summarize(incidents.filter((i) => !i.drill)),
		drills: summarize(incidents.filter((i) => i.drill))
	};
}

export interface Attainment {
	met: number;
	breached: number;
	/** Clocks still running (`ok`/`warning`): not yet counted either way. */
	pending: number;
	/** met / (met + breached) × 100, or null when nothing has finished. */
	percentage: number | null;
}

/**
 * SLA attainment per clock kind. A clock done late counts as breached (its state already says so).
 * Clocks of drills are skipped.
 */
export function slaAttainment(clocks: readonly { kind: ClockKind; state: ClockState; drill?: boolean }[]): Record<ClockKind, Attainment> {
	const out = Object.fromEntries(CLOCK_KINDS.map((k) => [k, { met: 0, breached: 0, pending: 0, percentage: null }])) as Record<
		ClockKind,
		Attainment
	>;
	for (const clock of clocks) {
		if (clock.drill) continue;
		const a = out[clock.kind];
		if (clock.state === 'met') a.met += 1;
		else if (clock.state === 'breached') a.breached += 1;
		else a.pending += 1;
	}
	for (const a of Object.values(out)) {
		const finished = a.met + a.breached;
		a.percentage = finished ? (a.met / finished) * 100 : null;
	}
	return out;
}

// ---- Service health for the board ----

export const SERVICE_HEALTHS = ['operational', 'degraded', 'outage'] as const;
export type ServiceHealth = (typeof SERVICE_HEALTHS)[number];

export interface HealthIncident {
	id: string;
	priority: Priority;
	impact: Impact;
	drill: boolean;
	serviceIds: readonly string[];
	/** When given, only active statuses count; a mitigated incident degrades at most. */
	status?: IncidentStatus;
}

const HEALTH_RANK: Record<ServiceHealth, number> = { operational: 0, degraded: 1, outage: 2 };

function healthFrom(incident: HealthIncident): ServiceHealth {
	if (incident.drill) return 'operational';
	if (incident.status !== undefined && !isActiveStatus(incident.status)) return 'operational';
	const severe =
		(incident.priority === 'P1' || incident.priority === 'P2') && (incident.impact === 'extensive' || incident.impact === 'significant');
	// Mitigated means a workaround restored service and the team is watching: not an outage.
	return severe && incident.status !== 'mitigated' ? 'outage' : 'degraded';
}

/**
 * Health per service, in the order given: `outage` while an active P1/P2 with extensive or
 * significant impact affects it, `degraded` while any other active incident does, else
 * `operational`. Drills never affect health (a drill must not turn the board red for executives),
 * and a mitigated incident shows as degraded, not outage.
 */
export function serviceHealth(options: {
	services: readonly { id: string }[];
	activeIncidents: readonly HealthIncident[];
}): { serviceId: string; health: ServiceHealth; incidentIds: string[] }[] {
	return options.services.map(({ id }) => {
		let health: ServiceHealth = 'operational';
		const incidentIds: string[] = [];
		for (const incident of options.activeIncidents) {
			if (!incident.serviceIds.includes(id)) continue;
			const h = healthFrom(incident);
			if (h === 'operational') continue;
			incidentIds.push(incident.id);
			if (HEALTH_RANK[h] > HEALTH_RANK[health]) health = h;
		}
		return { serviceId: id, health, incidentIds };
	});
}

// ---- The stakeholder status line ----

export const STATUS_UPDATE_STATES = ['draft', 'submitted', 'returned', 'approved'] as const;
export type StatusUpdateState = (typeof STATUS_UPDATE_STATES)[number];

export interface StatusUpdateLike {
	state: StatusUpdateState;
	line: string;
	approvedAt?: Date | null;
}

/**
 * The newest approved status update (by approval time), or null. Drafts, submitted and returned
 * updates are never shown to stakeholders, however recent.
 */
export function lastApprovedLine<T extends StatusUpdateLike>(updates: readonly T[]): T | null {
	let best: T | null = null;
	for (const u of updates) {
		if (u.state !== 'approved' || !u.approvedAt) continue;
		if (!best || u.approvedAt.getTime() > (best.approvedAt?.getTime() ?? -Infinity)) best = u;
	}
	return best;
}
