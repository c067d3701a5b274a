import { describe, expect, it } from 'vitest';
import {
	incidentDurations,
	incidentMetrics,
	lastApprovedLine,
	serviceHealth,
	slaAttainment,
	type HealthIncident,
	type MetricIncident,
	type StatusUpdateLike
} from './metrics';
import { MINUTE_MS } from './escalation-policy';

const T0 = new Date('2026-11-22T02:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * MINUTE_MS);
const min = (n: number) => n * MINUTE_MS;

let seq = 0;
/** Factory: a resolved P1 on "core-banking" detected at T0. */
function incident(overrides: Partial<MetricIncident> = {}): MetricIncident {
	seq += 1;
	return {
		id: `inc-${seq}`,
		priority: 'P1',
		drill: false,
		serviceIds: ['core-banking'],
		detectedAt: at(0),
		declaredAt: at(5),
		firstAckAt: at(8),
		mitigatedAt: at(40),
		resolvedAt: at(90),
		...overrides
	};
}

describe('incidentDurations', () => {
	it('measures each stage and the totals from detection', () => {
		expect(incidentDurations(incident())).toEqual({
			detectToDeclareMs: min(5),
			declareToAckMs: min(3),
			ackToMitigateMs: min(32),
			mitigateToResolveMs: min(50),
			timeToAcknowledgeMs: min(8),
			timeToMitigateMs: min(40),
			timeToResolveMs: min(90)
		});
	});

	it('measures from declaration when no detection time was recorded', () => {
		const d = incidentDurations(incident({ detectedAt: null }));
		expect(d.detectToDeclareMs).toBeNull();
		expect(d.timeToAcknowledgeMs).toBe(min(3));
		expect(d.timeToResolveMs).toBe(min(85));
	});

	it('leaves out stages not reached yet', () => {
		const d = incidentDurations(incident({ mitigatedAt: null, resolvedAt: null }));
		expect(d.ackToMitigateMs).toBeNull();
		expect(d.timeToResolveMs).toBeNull();
	});

	it('leaves out a stage whose end is before its start instead of reporting a negative time', () => {
		const d = incidentDurations(incident({ firstAckAt: at(3) }));
		expect(d.declareToAckMs).toBeNull();
		expect(d.timeToAcknowledgeMs).toBe(min(3));
	});
});

describe('incidentMetrics', () => {
	const incidents = [
		incident({ firstAckAt: at(10), resolvedAt: at(60) }),
		incident({
			priority: 'P2',
			serviceIds: ['core-banking', 'atm'],
			firstAckAt: at(20),
			resolvedAt: at(120)
		}),
		incident({ priority: 'P3', serviceIds: ['atm'], firstAckAt: null, resolvedAt: null }),
		incident({ drill: true, firstAckAt: at(1000), resolvedAt: at(5000), serviceIds: ['dr-site'] })
	];
	const { service, drills } = incidentMetrics(incidents);

	it('averages acknowledgement and resolution over real incidents only', () => {
		expect(service.count).toBe(3);
		expect(service.mtta).toEqual({ meanMs: min(15), samples: 2 });
		expect(service.mttr).toEqual({ meanMs: min(90), samples: 2 });
		expect(service.mttm).toEqual({ meanMs: min(40), samples: 3 });
	});

	it('reports drills apart', () => {
		expect(drills.count).toBe(1);
		expect(drills.mttr).toEqual({ meanMs: min(5000), samples: 1 });
		expect(drills.byService).toEqual({ 'dr-site': 1 });
	});

	it('counts incidents by priority, with every priority present', () => {
		expect(service.byPriority).toEqual({ P1: 1, P2: 1, P3: 1, P4: 0, P5: 0 });
	});

	it('counts an incident once for each service it affected', () => {
		expect(service.byService).toEqual({ 'core-banking': 2, atm: 2 });
	});

	it('gives no mean, rather than zero, for an empty period', () => {
		expect(incidentMetrics([]).service.mttr).toEqual({ meanMs: null, samples: 0 });
	});
});

describe('slaAttainment', () => {
	it('counts met, breached and pending per kind and gives the met percentage', () => {
		const r = slaAttainment([
			{ kind: 'report_due', state: 'met' },
			{ kind: 'report_due', state: 'met' },
			{ kind: 'report_due', state: 'met' },
			{ kind: 'report_due', state: 'breached' },
			{ kind: 'report_due', state: 'warning' },
			{ kind: 'member_ack_due', state: 'breached' },
			{ kind: 'member_ack_due', state: 'met', drill: true }
		]);
		expect(r.report_due).toEqual({ met: 3, breached: 1, pending: 1, percentage: 75 });
		expect(r.member_ack_due).toEqual({ met: 0, breached: 1, pending: 0, percentage: 0 });
		expect(r.head_office_ack_due).toEqual({ met: 0, breached: 0, pending: 0, percentage: null });
	});
});

describe('serviceHealth', () => {
	const services = [{ id: 'core-banking' }, { id: 'atm' }, { id: 'mobile' }];
	const active = (overrides: Partial<HealthIncident>): HealthIncident => ({
		id: 'inc',
		priority: 'P1',
		impact: 'extensive',
		drill: false,
		serviceIds: ['core-banking'],
		status: 'investigating',
		...overrides
	});
	const healthOf = (activeIncidents: HealthIncident[]) =>
		Object.fromEntries(serviceHealth({ services, activeIncidents }).map((s) => [s.serviceId, s.health]));

	it.each([
		['P1', 'extensive', 'outage'],
		['P1', 'significant', 'outage'],
		['P2', 'extensive', 'outage'],
		['P2', 'significant', 'outage'],
		['P1', 'moderate', 'degraded'],
		['P2', 'minor', 'degraded'],
		['P3', 'extensive', 'degraded'],
		['P5', 'minor', 'degraded']
	] as const)('marks a service with an active %s of %s impact as %s', (priority, impact, h) => {
		expect(healthOf([active({ priority, impact })])).toEqual({
			'core-banking': h,
			atm: 'operational',
			mobile: 'operational'
		});
	});

	it('never lets a drill change a service’s health', () => {
		expect(healthOf([active({ drill: true })])['core-banking']).toBe('operational');
	});

	it('shows a mitigated major incident as degraded, since service is restored under watch', () => {
		expect(healthOf([active({ status: 'mitigated' })])['core-banking']).toBe('degraded');
	});

	it('ignores incidents that are no longer active when a status is given', () => {
		expect(healthOf([active({ status: 'resolved' }), active({ status: 'proposed' })])).toEqual({
			'core-banking': 'operational',
			atm: 'operational',
			mobile: 'operational'
		});
	});

	it('takes the worst health when several incidents affect a service, and lists them', () => {
		const r = serviceHealth({
			services,
			activeIncidents: [active({ id: 'a', priority: 'P3', serviceIds: ['atm', 'mobile'] }), active({ id: 'b', serviceIds: ['atm'] })]
		});
		expect(r).toEqual([
			{ serviceId: 'core-banking', health: 'operational', incidentIds: [] },
			{ serviceId: 'atm', health: 'outage', incidentIds: ['a', 'b'] },
			{ serviceId: 'mobile', health: 'degraded', incidentIds: ['a'] }
		]);
	});
});

describe('lastApprovedLine', () => {
	const u = (state: StatusUpdateLike['state'], line: string, approvedMin?: number) => ({
		state,
		line,
		approvedAt: approvedMin === undefined ? null : at(approvedMin)
	});

	it('returns the most recently approved update', () => {
		const updates = [u('approved', 'first', 10), u('approved', 'third', 50), u('approved', 'second', 30)];
		expect(lastApprovedLine(updates)?.line).toBe('third');
	});

	it('ignores drafts, submitted and returned updates, however recent', () => {
		const updates = [u('approved', 'shown', 10), u('draft', 'draft', 60), u('submitted', 'waiting', 70), u('returned', 'sent back', 80)];
		expect(lastApprovedLine(updates)?.line).toBe('shown');
	});

	it('returns null when nothing has been approved yet', () => {
		expect(lastApprovedLine([u('draft', 'x'), u('submitted', 'y')])).toBeNull();
		expect(lastApprovedLine([])).toBeNull();
	});
});
