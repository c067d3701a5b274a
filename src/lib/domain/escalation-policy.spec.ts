import { describe, expect, it } from 'vitest';
import {
	DEFAULT_ESCALATION_POLICY,
	distinctRegions,
	escalationLevels,
	headOfficeRequirement,
	mergePolicies,
	nextLevel,
	targetLevel,
	validatePolicyRules,
	type OrgUnit
} from './escalation-policy';
import type { Priority } from './priority';

const policy = DEFAULT_ESCALATION_POLICY;

describe('the default policy', () => {
	it('asks for a head-office report within 30 min for P1 and 120 min for P2, and none below', () => {
		expect(policy.headOfficeReportMinutes).toEqual({ P1: 30, P2: 120 });
	});

	it('asks for updates every 30 min for P1, 60 for P2, 120 for P3 and none for P4/P5', () => {
		expect(policy.updateIntervalMinutes).toEqual({ P1: 30, P2: 60, P3: 120 });
	});

	it('gives head office 15 min and paged members 10 min to acknowledge, warning 5 min ahead', () => {
		expect(policy).toMatchObject({
			headOfficeAckMinutes: 15,
			memberAckMinutes: 10,
			warningLeadMinutes: 5,
			crossRegionToHeadOffice: true
		});
	});

	it('cannot be changed by accident, since every evaluation shares it', () => {
		expect(Object.isFrozen(policy)).toBe(true);
		expect(Object.isFrozen(policy.headOfficeReportMinutes)).toBe(true);
	});
});

describe('headOfficeRequirement', () => {
	it.each([
		['P1', ['north'], true, ['priority'], 30],
		['P2', ['north'], true, ['priority'], 120],
		['P3', ['north'], false, [], null],
		['P5', [], false, [], null],
		['P3', ['north', 'south'], true, ['cross_region'], 120],
		['P1', ['north', 'south'], true, ['priority', 'cross_region'], 30],
		['P4', ['north', 'north ', ''], false, [], null]
	] as [Priority, string[], boolean, string[], number | null][])(
		'for %s in regions %j: required %s because %j, within %s min',
		(priority, regions, required, reasons, withinMinutes) => {
			expect(headOfficeRequirement({ priority, regions, policy })).toEqual({
				required,
				reasons,
				withinMinutes
			});
		}
	);

	it('does not escalate cross-region incidents when the policy turns that rule off', () => {
		const off = { ...policy, crossRegionToHeadOffice: false };
		expect(headOfficeRequirement({ priority: 'P3', regions: ['a', 'b'], policy: off }).required).toBe(false);
	});

	it('counts regions once each, ignoring blanks and surrounding spaces', () => {
		expect(distinctRegions(['east', ' east', '', 'west'])).toEqual(['east', 'west']);
	});
});

describe('mergePolicies', () => {
	it('lets a playbook shorten a window but not lengthen one', () => {
		const merged = mergePolicies(policy, {
			headOfficeReportMinutes: { P1: 15, P2: 240 },
			memberAckMinutes: 5,
			headOfficeAckMinutes: 60
		});
		expect(merged.headOfficeReportMinutes).toEqual({ P1: 15, P2: 120 });
		expect(merged.memberAckMinutes).toBe(5);
		expect(merged.headOfficeAckMinutes).toBe(15);
	});

	it('adds a requirement the base policy does not have', () => {
		const merged = mergePolicies(policy, {
			headOfficeReportMinutes: { P3: 240 },
			updateIntervalMinutes: { P4: 240 }
		});
		expect(merged.headOfficeReportMinutes).toEqual({ P1: 30, P2: 120, P3: 240 });
		expect(merged.updateIntervalMinutes).toEqual({ P1: 30, P2: 60, P3: 120, P4: 240 });
	});

	it('keeps cross-region escalation on once either side turns it on', () => {
		const base = { ...policy, crossRegionToHeadOffice: false };
		expect(mergePolicies(base, { crossRegionToHeadOffice: true }).crossRegionToHeadOffice).toBe(true);
		expect(mergePolicies(policy, { crossRegionToHeadOffice: false }).crossRegionToHeadOffice).toBe(true);
	});

	it('takes the earlier warning', () => {
		expect(mergePolicies(policy, { warningLeadMinutes: 10 }).warningLeadMinutes).toBe(10);
		expect(mergePolicies(policy, { warningLeadMinutes: 1 }).warningLeadMinutes).toBe(5);
	});

	it('changes nothing when a playbook adds no rules, and leaves the base untouched', () => {
		expect(mergePolicies(policy, {})).toEqual(policy);
		mergePolicies(policy, { headOfficeReportMinutes: { P1: 1 } });
		expect(policy.headOfficeReportMinutes.P1).toBe(30);
	});
});

describe('validatePolicyRules', () => {
	it('accepts well-formed rules', () => {
		expect(validatePolicyRules({ updateIntervalMinutes: { P1: 15 }, warningLeadMinutes: 0 }).ok).toBe(true);
	});

	it.each([
		[{ memberAckMinutes: 0 }, 'memberAckMinutes'],
		[{ headOfficeAckMinutes: -5 }, 'headOfficeAckMinutes'],
		[{ updateIntervalMinutes: { P2: Number.NaN } }, 'updateIntervalMinutes.P2'],
		[{ headOfficeReportMinutes: { P9: 30 } }, 'headOfficeReportMinutes.P9'],
		[{ warningLeadMinutes: -1 }, 'warningLeadMinutes']
	] as const)('refuses %j, naming the field %s', (rules, field) => {
		const r = validatePolicyRules(rules as never);
		expect(r.ok).toBe(false);
		expect(!r.ok && r.error).toMatchObject({ code: 'invalid_value', field });
	});
});

describe('the escalation chain', () => {
	const head: OrgUnit = { id: 'hq', kind: 'head_office' };
	const province: OrgUnit = { id: 'gd', kind: 'region' };
	const city: OrgUnit = { id: 'sz', kind: 'region' };
	const team: OrgUnit = { id: 'db-team', kind: 'team' };

	it('goes from the owning team through the regional centres to head office', () => {
		expect(escalationLevels([head, province, city, team]).map((u) => u.id)).toEqual(['db-team', 'sz', 'gd', 'hq']);
	});

	it('accepts the same path given bottom-up', () => {
		expect(escalationLevels([team, city, province, head]).map((u) => u.id)).toEqual(['db-team', 'sz', 'gd', 'hq']);
	});

	it('drops a unit listed twice', () => {
		expect(escalationLevels([head, province, province, team])).toHaveLength(3);
	});

	it('names the next level up, and none above head office', () => {
		const levels = escalationLevels([head, province, team]);
		expect(nextLevel(levels, 'db-team')).toEqual(province);
		expect(nextLevel(levels, 'gd')).toEqual(head);
		expect(nextLevel(levels, 'hq')).toBeNull();
		expect(nextLevel(levels, 'unknown')).toBeNull();
	});

	it('targets head office when escalation is required and the owning unit otherwise', () => {
		const levels = escalationLevels([head, province, team]);
		expect(targetLevel(levels, true)).toEqual(head);
		expect(targetLevel(levels, false)).toEqual(team);
		expect(targetLevel([], true)).toBeNull();
	});
});
