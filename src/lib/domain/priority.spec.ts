import { describe, expect, it } from 'vitest';
import {
	IMPACTS,
	PRIORITY_MATRIX,
	URGENCIES,
	isHigherPriority,
	isImpact,
	isPriority,
	isUrgency,
	parseImpact,
	parsePriority,
	parseUrgency,
	priorityFor,
	priorityRank,
	type Impact,
	type Priority,
	type Urgency
} from './priority';

// The ITIL 4×4 matrix written out cell by cell, independently of the implementation's table.
const EXPECTED: [Impact, Urgency, Priority][] = [
	['extensive', 'critical', 'P1'],
	['extensive', 'high', 'P1'],
	['extensive', 'medium', 'P2'],
	['extensive', 'low', 'P3'],
	['significant', 'critical', 'P1'],
	['significant', 'high', 'P2'],
	['significant', 'medium', 'P3'],
	['significant', 'low', 'P4'],
	['moderate', 'critical', 'P2'],
	['moderate', 'high', 'P3'],
	['moderate', 'medium', 'P4'],
	['moderate', 'low', 'P5'],
	['minor', 'critical', 'P3'],
	['minor', 'high', 'P4'],
	['minor', 'medium', 'P5'],
	['minor', 'low', 'P5']
];

describe('priorityFor', () => {
	it.each(EXPECTED)('gives %s impact with %s urgency the priority %s', (impact, urgency, p) => {
		expect(priorityFor(impact, urgency)).toBe(p);
	});

	it('covers every impact × urgency cell exactly once in the expected table', () => {
		expect(EXPECTED).toHaveLength(IMPACTS.length * URGENCIES.length);
		const cells = new Set(EXPECTED.map(([i, u]) => `${i}/${u}`));
		expect(cells.size).toBe(16);
	});

	it('never makes an incident less severe when impact or urgency goes up', () => {
		for (let i = 0; i < IMPACTS.length; i++) {
			for (let u = 0; u < URGENCIES.length; u++) {
				const here = priorityRank(PRIORITY_MATRIX[IMPACTS[i]!][URGENCIES[u]!]);
				if (i > 0) expect(priorityRank(PRIORITY_MATRIX[IMPACTS[i - 1]!][URGENCIES[u]!])).toBeLessThanOrEqual(here);
				if (u > 0) expect(priorityRank(PRIORITY_MATRIX[IMPACTS[i]!][URGENCIES[u - 1]!])).toBeLessThanOrEqual(here);
			}
		}
	});
});

describe('priority guards and parsers', () => {
	it('recognises the members of each union and rejects anything else', () => {
		expect(isImpact('extensive')).toBe(true);
		expect(isImpact('major')).toBe(false);
		expect(isUrgency('low')).toBe(true);
		expect(isUrgency(1)).toBe(false);
		expect(isPriority('P5')).toBe(true);
		expect(isPriority('P6')).toBe(false);
		expect(isPriority(undefined)).toBe(false);
	});

	it('parses form input regardless of case and surrounding spaces', () => {
		expect(parseImpact(' Significant ')).toEqual({
			ok: true,
			value: 'significant'
		});
		expect(parseUrgency('HIGH')).toEqual({ ok: true, value: 'high' });
	});

	it('reports an unknown impact as invalid_value on the impact field, listing the allowed values', () => {
		const r = parseImpact('huge');
		expect(r.ok).toBe(false);
		if (r.ok) return;
		expect(r.error.code).toBe('invalid_value');
		expect(r.error.field).toBe('impact');
		expect(r.error.message).toContain('extensive, significant, moderate, minor');
	});

	it('uses the caller’s field name in the error so a form can show it next to the right input', () => {
		const r = parseUrgency('', 'fields.urgency');
		expect(!r.ok && r.error.field).toBe('fields.urgency');
	});

	it.each([
		['P1', 'P1'],
		['p2', 'P2'],
		[' 3 ', 'P3'],
		[4, 'P4']
	] as const)('parses the priority %j as %s', (input, expected) => {
		expect(parsePriority(input)).toEqual({ ok: true, value: expected });
	});

	it.each(['P0', 'P6', '', 'urgent', 6, null])('rejects %j as a priority', (input) => {
		expect(parsePriority(input).ok).toBe(false);
	});
});

describe('priority ordering', () => {
	it('ranks P1 as the most severe and P5 as the least', () => {
		expect(priorityRank('P1')).toBe(1);
		expect(priorityRank('P5')).toBe(5);
		expect(isHigherPriority('P1', 'P2')).toBe(true);
		expect(isHigherPriority('P3', 'P3')).toBe(false);
		expect(isHigherPriority('P4', 'P2')).toBe(false);
	});
});
