/**
 * Escalation rules as data (issue 6): when a report to head office is due, how often progress
 * updates are due, how fast head office and paged members must acknowledge, and the escalation
 * chain through the organisation. `clocks.ts` turns a policy and an incident into due times.
 *
 * Defaults (`DEFAULT_ESCALATION_POLICY`), from the practice in DOMAIN.md ("the bigger the fault, the
 * more often"):
 *
 * | rule                                   | P1     | P2      | P3      | P4 / P5 |
 * | -------------------------------------- | ------ | ------- | ------- | ------- |
 * | report to head office after declaring  | 30 min | 120 min | —       | —       |
 * | progress update interval               | 30 min | 60 min  | 120 min | none    |
 *
 * - An incident affecting services in more than one region goes to head office whatever its
 *   priority (cross-province faults, 跨省故障); if its priority sets no report window it gets
 *   `crossRegionReportMinutes` (120, as P2).
 * - Head office must acknowledge a report within 15 min of it being sent.
 * - A paged member must acknowledge within 10 min, or is paged again (a new page, a new clock).
 * - A warning goes out 5 min before a breach; action items warn a day ahead.
 *
 * All durations are minutes and become UTC instants by adding milliseconds — never wall-clock
 * arithmetic — so a daylight-saving change neither shortens nor stretches a deadline.
 */
import { err, ok, type DomainError, type Result } from './result';
import { PRIORITIES, type Priority } from './priority';

export const MINUTE_MS = 60_000;

export interface EscalationPolicy {
	/** Minutes after declaration by which the first head-office report is due; no entry = not required. */
	headOfficeReportMinutes: Partial<Record<Priority, number>>;
	/** Whether incidents affecting services in more than one region must go to head office. */
	crossRegionToHeadOffice: boolean;
	/** Report window for a cross-region incident whose priority sets none. */
	crossRegionReportMinutes: number;
	/** Minutes between approved progress updates while the incident is active; no entry = none. */
	updateIntervalMinutes: Partial<Record<Priority, number>>;
	/** Minutes head office has to acknowledge a sent report. */
	headOfficeAckMinutes: number;
	/** Minutes a paged member has to acknowledge before being paged again. */
	memberAckMinutes: number;
	/** Minutes before a due time at which a warning goes out. */
	warningLeadMinutes: number;
	/** Same, for action items (days matter there, not minutes). */
	actionItemWarningLeadMinutes: number;
}

export const DEFAULT_ESCALATION_POLICY: Readonly<EscalationPolicy> = Object.freeze({
	headOfficeReportMinutes: Object.freeze({ P1: 30, P2: 120 }),
	crossRegionToHeadOffice: true,
	crossRegionReportMinutes: 120,
	updateIntervalMinutes: Object.freeze({ P1: 30, P2: 60, P3: 120 }),
	headOfficeAckMinutes: 15,
	memberAckMinutes: 10,
	warningLeadMinutes: 5,
	actionItemWarningLeadMinutes: 24 * 60
});

/** What a playbook may add: any subset of the policy. */
export type PolicyRules = Partial<EscalationPolicy>;

function stricterMinutes(a: number | undefined, b: number | undefined): number | undefined {
	if (a === undefined) return b;
	if (b === undefined) return a;
	return Math.min(a, b);
}

function stricterByPriority(
	a: Partial<Record<Priority, number>>,
	b: Partial<Record<Priority, number>> | undefined
): Partial<Record<Priority, number>> {
	const out: Partial<Record<Priority, number>> = {};
	for (const p of PRIORITIES) {
		const v = stricterMinutes(a[p], b?.[p]);
		if (v !== undefined) out[p] = v;
	}
	return out;
}

/**
 * Adds a playbook's rules to a policy; for every rule the stricter wins: the shorter window, a
 * requirement over none, escalating cross-region incidents over not, the earlier warning. So a
 * playbook can tighten the organisation's policy but never loosen it.
 */
export function mergePolicies(base: EscalationPolicy, rules: PolicyRules): EscalationPolicy {
	return {
		headOfficeReportMinutes: stricterByPriority(base.headOfficeReportMinutes, rules.headOfficeReportMinutes),
		crossRegionToHeadOffice: base.crossRegionToHeadOffice || rules.crossRegionToHeadOffice === true,
		crossRegionReportMinutes:
			stricterMinutes(base.crossRegionReportMinutes, rules.crossRegionReportMinutes) ?? base.crossRegionReportMinutes,
		updateIntervalMinutes: stricterByPriority(base.updateIntervalMinutes, rules.updateIntervalMinutes),
		headOfficeAckMinutes: Math.min(base.headOfficeAckMinutes, rules.headOfficeAckMinutes ?? Infinity),
		memberAckMinutes: Math.min(base.memberAckMinutes, rules.memberAckMinutes ?? Infinity),
		warningLeadMinutes: Math.max(base.warningLeadMinutes, rules.warningLeadMinutes ?? 0),
		actionItemWarningLeadMinutes: Math.max(base.actionItemWarningLeadMinutes, rules.actionItemWarningLeadMinutes ?? 0)
	};
}

function checkMinutes(value: unknown, field: string, { allowZero }: { allowZero: boolean }): DomainError | null {
	if (value === undefined) return null;
	if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
		return {
			code: 'invalid_value',
			message: `${field} must be a ${allowZero ? 'non-negative' : 'positive'} number of minutes; got ${JSON.stringify(value)}`,
			field
		};
	}
	return null;
}

/** Checks rules from a playbook or the admin UI: every duration a finite number of minutes. */
export function validatePolicyRules(rules: PolicyRules): Result<PolicyRules> {
	const checks: (DomainError | null)[] = [];
	for (const key of ['headOfficeReportMinutes', 'updateIntervalMinutes'] as const) {
		const table = rules[key];
		if (table === undefined) continue;
		for (const [p, v] of Object.entries(table)) {
			if (!(PRIORITIES as readonly string[]).includes(p)) {
				checks.push({
					code: 'invalid_value',
					message: `${key} has an unknown priority ${p}`,
					field: `${key}.${p}`
				});
			}
			checks.push(checkMinutes(v, `${key}.${p}`, { allowZero: false }));
		}
	}
	checks.push(checkMinutes(rules.crossRegionReportMinutes, 'crossRegionReportMinutes', { allowZero: false }));
	checks.push(checkMinutes(rules.headOfficeAckMinutes, 'headOfficeAckMinutes', { allowZero: false }));
	checks.push(checkMinutes(rules.memberAckMinutes, 'memberAckMinutes', { allowZero: false }));
	checks.push(checkMinutes(rules.warningLeadMinutes, 'warningLeadMinutes', { allowZero: true }));
	checks.push(
		checkMinutes(rules.actionItemWarningLeadMinutes, 'actionItemWarningLeadMinutes', {
			allowZero: true
		})
	);
	const first = checks.find((c) => c !== null);
	return first ? err(first) : ok(rules);
}

export type HeadOfficeReason = 'priority' | 'cross_region';

/** Distinct, non-empty region ids. */
export function distinctRegions(regions: readonly string[]): string[] {
	return [...new Set(regions.map((r) => r.trim()).filter((r) => r !== ''))];
}

/**
 * Whether the incident must be reported to head office, why, and within how many minutes of
 * declaration (the stricter window when both rules apply).
 */
export function headOfficeRequirement(options: { priority: Priority; regions: readonly string[]; policy: EscalationPolicy }): {
	required: boolean;
	reasons: HeadOfficeReason[];
	withinMinutes: number | null;
} {
	const { priority, policy } = options;
	const reasons: HeadOfficeReason[] = [];
	let within: number | undefined;
	const byPriority = policy.headOfficeReportMinutes[priority];
	if (byPriority !== undefined) {
		reasons.push('priority');
		within = byPriority;
	}
	if (policy.crossRegionToHeadOffice && distinctRegions(options.regions).length > 1) {
		reasons.push('cross_region');
		within = stricterMinutes(within, policy.crossRegionReportMinutes);
	}
	return { required: reasons.length > 0, reasons, withinMinutes: within ?? null };
}

// ---- The escalation chain: team → regional centre(s) → head office ----

export type OrgUnitKind = 'head_office' | 'region' | 'team';

export interface OrgUnit {
	id: string;
	kind: OrgUnitKind;
}

/**
 * The levels an incident escalates through, from the owning unit up to head office. `orgPath` is the
 * path in the organisation tree from head office down to the owning unit (a breadcrumb); a path
 * given bottom-up (ending at head office) is accepted too. Nested regions (province → city) stay in
 * tree order. Duplicate ids are dropped.
 */
export function escalationLevels(orgPath: readonly OrgUnit[]): OrgUnit[] {
	const bottomUp = orgPath.length > 1 && orgPath[0]?.kind === 'head_office' ? [...orgPath].reverse() : [...orgPath];
	const seen = new Set<string>();
	return bottomUp.filter((u) => (seen.has(u.id) ? false : (seen.add(u.id), true)));
}

/** The next level up from `currentId`, or null at the top (or when `currentId` is not on the path). */
export function nextLevel(levels: readonly OrgUnit[], currentId: string): OrgUnit | null {
	const i = levels.findIndex((u) => u.id === currentId);
	return i === -1 ? null : (levels[i + 1] ?? null);
}

/** The level an incident should be escalated to now: head office when required, else the owning unit. */
export function targetLevel(levels: readonly OrgUnit[], mustEscalateToHeadOffice: boolean): OrgUnit | null {
	if (mustEscalateToHeadOffice) {
		return levels.find((u) => u.kind === 'head_office') ?? levels[levels.length - 1] ?? null;
	}
	return levels[0] ?? null;
}
