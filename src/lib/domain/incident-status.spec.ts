import { describe, expect, it } from 'vitest';
import {
	INCIDENT_STATUSES,
	allowedTransitions,
	formatIncidentNumber,
	incidentDayKey,
	INCIDENT_NUMBER_PATTERN,
	isActiveStatus,
	isTerminalStatus,
	openingStatus,
	parseIncidentStatus,
	transition,
	type IncidentStatus,
	type TransitionInput
} from './incident-status';

const NOW = new Date('2026-11-22T03:15:00.000Z');

/** Tries a move with every precondition met (a reason, a published review), so only legality decides. */
function attempt(from: IncidentStatus, to: IncidentStatus, extra: Partial<TransitionInput> = {}) {
	return transition({
		from,
		to,
		now: NOW,
		reason: 'r',
		reviewPublished: true,
		...extra
	});
}

// The whole 7 × 7 matrix, written out: Y = allowed, . = illegal_transition.
// Columns: proposed rejected investigating identified mitigated resolved closed
const MATRIX: Record<IncidentStatus, string> = {
	proposed: '. Y Y . . . .',
	rejected: '. . . . . . .',
	investigating: '. . . Y Y Y .',
	identified: '. . . . Y Y .',
	mitigated: '. . . . . Y .',
	resolved: '. . Y . . . Y',
	closed: '. . Y . . . .'
};
const CASES: [IncidentStatus, IncidentStatus, boolean][] = INCIDENT_STATUSES.flatMap((from) =>
	MATRIX[from].split(' ').map((cell, i) => [from, INCIDENT_STATUSES[i]!, cell === 'Y'] as [IncidentStatus, IncidentStatus, boolean])
);

describe('the transition matrix', () => {
	it('has a row for every status and a column for every status', () => {
		expect(CASES).toHaveLength(49);
	});

	it.each(CASES)('from %s to %s is allowed: %s', (from, to, allowed) => {
		const r = attempt(from, to);
		expect(r.ok).toBe(allowed);
		if (!r.ok) {
			expect(r.error.code).toBe('illegal_transition');
			expect(r.error.params).toEqual({ from, to });
		}
	});

	it('names both statuses and what is allowed in the illegal_transition message', () => {
		const r = attempt('mitigated', 'identified');
		expect(!r.ok && r.error.message).toBe('Cannot move an incident from mitigated to identified (allowed: resolved)');
	});

	it('says a rejected proposal is final', () => {
		const r = attempt('rejected', 'investigating');
		expect(!r.ok && r.error.message).toContain('rejected is final');
	});

	it('says the incident is already in a status when asked to move to the same one', () => {
		const r = attempt('identified', 'identified');
		expect(!r.ok && r.error.message).toBe('The incident is already identified');
	});

	it('offers the UI the same moves the matrix allows', () => {
		expect(allowedTransitions('investigating')).toEqual(['identified', 'mitigated', 'resolved']);
		expect(allowedTransitions('closed')).toEqual(['investigating']);
	});
});

describe('key times stamped by each transition', () => {
	it.each([
		['proposed', 'investigating', 'accept', { declaredAt: NOW }, []],
		['proposed', 'rejected', 'reject', {}, []],
		['investigating', 'identified', 'advance', {}, []],
		['investigating', 'mitigated', 'advance', { mitigatedAt: NOW }, []],
		['identified', 'mitigated', 'advance', { mitigatedAt: NOW }, []],
		['investigating', 'resolved', 'resolve', { mitigatedAt: NOW, resolvedAt: NOW }, []],
		['identified', 'resolved', 'resolve', { mitigatedAt: NOW, resolvedAt: NOW }, []],
		['mitigated', 'resolved', 'resolve', { resolvedAt: NOW }, []],
		['resolved', 'closed', 'close', { closedAt: NOW }, []],
		['resolved', 'investigating', 'reopen', { reopenedAt: NOW }, ['mitigatedAt', 'resolvedAt', 'closedAt']],
		['closed', 'investigating', 'reopen', { reopenedAt: NOW }, ['mitigatedAt', 'resolvedAt', 'closedAt']]
	] as const)('%s → %s is a %s that stamps %j and clears %j', (from, to, kind, stamps, clears) => {
		const r = attempt(from, to);
		expect(r.ok).toBe(true);
		if (!r.ok) return;
		expect(r.value.kind).toBe(kind);
		expect(r.value.stamps).toEqual(stamps);
		expect(r.value.clears).toEqual(clears);
	});
});

describe('reasons', () => {
	it.each([undefined, null, '', '   '])('refuses to reject a proposal with the reason %j', (reason) => {
		const r = transition({
			from: 'proposed',
			to: 'rejected',
			reason,
			now: NOW
		});
		expect(r.ok).toBe(false);
		expect(!r.ok && r.error).toMatchObject({
			code: 'reason_required',
			field: 'reason'
		});
	});

	it('keeps the trimmed rejection reason for the audit log', () => {
		const r = transition({
			from: 'proposed',
			to: 'rejected',
			reason: '  duplicate of INC-1 ',
			now: NOW
		});
		expect(r.ok && r.value.reason).toBe('duplicate of INC-1');
	});

	it.each(['resolved', 'closed'] as const)('refuses to reopen a %s incident without a reason', (from) => {
		const r = transition({
			from,
			to: 'investigating',
			now: NOW,
			reason: ' '
		});
		expect(!r.ok && r.error.code).toBe('reason_required');
		expect(!r.ok && r.error.message).toContain(from);
	});

	it('accepts a proposal without a reason', () => {
		expect(transition({ from: 'proposed', to: 'investigating', now: NOW }).ok).toBe(true);
	});
});

describe('closing', () => {
	it('closes on a published review and records no waiver', () => {
		const r = transition({
			from: 'resolved',
			to: 'closed',
			now: NOW,
			reviewPublished: true
		});
		expect(r.ok && r.value).toMatchObject({
			reviewWaived: false,
			reason: null
		});
	});

	it('closes without a review when a waiver reason is given, and records the waiver', () => {
		const r = transition({
			from: 'resolved',
			to: 'closed',
			now: NOW,
			reviewPublished: false,
			waiverReason: ' minor blip, no customer impact '
		});
		expect(r.ok && r.value).toMatchObject({
			reviewWaived: true,
			reason: 'minor blip, no customer impact'
		});
	});

	it.each([[{ reviewPublished: false }], [{ reviewPublished: false, waiverReason: '  ' }], [{}]])(
		'refuses to close with neither a published review nor a waiver (%j)',
		(extra) => {
			const r = transition({
				from: 'resolved',
				to: 'closed',
				now: NOW,
				...extra
			});
			expect(!r.ok && r.error).toMatchObject({
				code: 'review_required',
				field: 'waiverReason'
			});
		}
	);

	it('reports an illegal move before a missing review, so closing an active incident names the move', () => {
		const r = transition({ from: 'mitigated', to: 'closed', now: NOW });
		expect(!r.ok && r.error.code).toBe('illegal_transition');
	});
});

describe('status helpers', () => {
	it('starts a declared incident investigating with its declaration time, and a proposal unstamped', () => {
		expect(openingStatus('declare', NOW)).toEqual({
			status: 'investigating',
			stamps: { declaredAt: NOW }
		});
		expect(openingStatus('propose', NOW)).toEqual({
			status: 'proposed',
			stamps: {}
		});
	});

	it('treats investigating, identified and mitigated as active and nothing else', () => {
		expect(INCIDENT_STATUSES.filter(isActiveStatus)).toEqual(['investigating', 'identified', 'mitigated']);
	});

	it('treats only rejected as terminal, since a closed incident can be reopened', () => {
		expect(INCIDENT_STATUSES.filter(isTerminalStatus)).toEqual(['rejected']);
	});

	it('parses a known status and refuses an unknown one', () => {
		expect(parseIncidentStatus('mitigated')).toEqual({
			ok: true,
			value: 'mitigated'
		});
		expect(parseIncidentStatus('monitoring').ok).toBe(false);
	});
});

describe('formatIncidentNumber', () => {
	it('formats the date in the organisation time zone and pads the sequence to four digits', () => {
		expect(formatIncidentNumber(new Date('2026-11-22T03:00:00Z'), 7, 'Asia/Shanghai')).toBe('INC-20261122-0007');
	});

	it('numbers an incident at 01:30 Shanghai time for the Shanghai day, not the UTC day before', () => {
		// 2026-11-22 01:30 +08:00 is 2026-11-21 17:30 UTC.
		const at = new Date('2026-11-21T17:30:00Z');
		expect(formatIncidentNumber(at, 1, 'Asia/Shanghai')).toBe('INC-20261122-0001');
		expect(formatIncidentNumber(at, 1, 'UTC')).toBe('INC-20261121-0001');
	});

	it('numbers by the local day in a zone behind UTC', () => {
		expect(incidentDayKey(new Date('2026-01-01T02:00:00Z'), 'America/New_York')).toBe('20251231');
	});

	it('lets the sequence grow past 9999 instead of wrapping', () => {
		expect(formatIncidentNumber(new Date('2026-11-22T03:00:00Z'), 12345, 'Asia/Shanghai')).toBe('INC-20261122-12345');
	});

	it('produces numbers that match the published pattern', () => {
		const n = formatIncidentNumber(NOW, 42, 'Europe/Berlin');
		expect(INCIDENT_NUMBER_PATTERN.exec(n)?.slice(1)).toEqual(['20261122', '0042']);
	});

	it.each([0, -1, 1.5, Number.NaN])('throws on the sequence %s, which is a caller bug', (seq) => {
		expect(() => formatIncidentNumber(NOW, seq, 'Asia/Shanghai')).toThrow(RangeError);
	});

	it('throws on an unknown time zone rather than guessing one', () => {
		expect(() => formatIncidentNumber(NOW, 1, 'Mars/Olympus')).toThrow(RangeError);
	});
});
