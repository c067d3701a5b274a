/**
 * ITIL priority from impact × urgency (DOMAIN.md "Classify and prioritise", 判断并分派).
 *
 * The standard ITIL 4×4 matrix — one table, exported because the UI shows it next to the
 * impact/urgency pickers so the desk can see why an incident got its priority:
 *
 * | impact \ urgency | critical | high | medium | low |
 * | ---------------- | -------- | ---- | ------ | --- |
 * | extensive        | P1       | P1   | P2     | P3  |
 * | significant      | P1       | P2   | P3     | P4  |
 * | moderate         | P2       | P3   | P4     | P5  |
 * | minor            | P3       | P4   | P5     | P5  |
 *
 * Changing a cell changes which incidents escalate to head office and how often updates are due
 * (see escalation-policy.ts), so a change here is a policy change, not a refactor.
 */
import { err, ok, type DomainError, type Result } from './result';

/** Impact: how much of the business is affected (users, branches, regions, transactions). */
export const IMPACTS = ['extensive', 'significant', 'moderate', 'minor'] as const;
export type Impact = (typeof IMPACTS)[number];

/** Urgency: how fast the impact grows or must be contained. */
export const URGENCIES = ['critical', 'high', 'medium', 'low'] as const;
export type Urgency = (typeof URGENCIES)[number];

/** P1 is the most severe. */
export const PRIORITIES = ['P1', 'P2', 'P3', 'P4', 'P5'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The matrix, rows by impact (most to least), columns by urgency (most to least). */
export const PRIORITY_MATRIX: Readonly<Record<Impact, Readonly<Record<Urgency, Priority>>>> = {
	extensive: { critical: 'P1', high: 'P1', medium: 'P2', low: 'P3' },
	significant: { critical: 'P1', high: 'P2', medium: 'P3', low: 'P4' },
	moderate: { critical: 'P2', high: 'P3', medium: 'P4', low: 'P5' },
	minor: { critical: 'P3', high: 'P4', medium: 'P5', low: 'P5' }
};

export function priorityFor(impact: Impact, urgency: Urgency): Priority {
	return PRIORITY_MATRIX[impact][urgency];
}

export function isImpact(value: unknown): value is Impact {
	return typeof value === 'string' && (IMPACTS as readonly string[]).includes(value);
}

export function isUrgency(value: unknown): value is Urgency {
	return typeof value === 'string' && (URGENCIES as readonly string[]).includes(value);
}

export function isPriority(value: unknown): value is Priority {
	return typeof value === 'string' && (PRIORITIES as readonly string[]).includes(value);
}

/** 1 for P1 … 5 for P5: smaller is more severe. */
export function priorityRank(priority: Priority): number {
	return PRIORITIES.indexOf(priority) + 1;
}

/** True when `a` is more severe than `b` (P1 is higher than P2). */
export function isHigherPriority(a: Priority, b: Priority): boolean {
	return priorityRank(a) < priorityRank(b);
}

function invalid(field: string, allowed: readonly string[], value: unknown): DomainError {
	return {
		code: 'invalid_value',
		message: `${field} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`,
		field,
		params: { allowed: allowed.join(',') }
	};
}

/** Parses form or API input (trimmed, case-insensitive) into an impact. */
export function parseImpact(value: unknown, field = 'impact'): Result<Impact> {
	const v = typeof value === 'string' ? value.trim().toLowerCase() : value;
	return isImpact(v) ? ok(v) : err(invalid(field, IMPACTS, value));
}

/** Parses form or API input (trimmed, case-insensitive) into an urgency. */
export function parseUrgency(value: unknown, field = 'urgency'): Result<Urgency> {
	const v = typeof value === 'string' ? value.trim().toLowerCase() : value;
	return isUrgency(v) ? ok(v) : err(invalid(field, URGENCIES, value));
}

/** Parses `P1`…`P5` (also `p1` or a bare `1`) into a priority. */
export function parsePriority(value: unknown, field = 'priority'): Result<Priority> {
	let v = value;
	if (typeof v === 'number') v = `P${v}`;
	if (typeof v === 'string') {
		v = v.trim().toUpperCase();
		if (/^[1-5]$/.test(v as string)) v = `P${v}`;
	}
	return isPriority(v) ? ok(v) : err(invalid(field, PRIORITIES, value));
}
