import { describe, expect, it } from 'vitest';
import {
	dueReminders,
	evaluatePolicy,
	makeClock,
	reminderKey,
	type Clock,
	type EvaluatePolicyInput,
	type PolicyIncident,
	type Reminder
} from './clocks';
import { DEFAULT_ESCALATION_POLICY, MINUTE_MS } from './escalation-policy';

const T0 = new Date('2026-11-22T02:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * MINUTE_MS);

/** Factory: a declared P1 in one region, investigating, nothing sent yet, evaluated at T0+1min. */
function input(
	overrides: Partial<Omit<EvaluatePolicyInput, 'incident'>> & {
		incident?: Partial<PolicyIncident>;
	} = {}
): EvaluatePolicyInput {
	const { incident, ...rest } = overrides;
	return {
		incident: {
			priority: 'P1',
			declaredAt: T0,
			regions: ['east'],
			drill: false,
			status: 'investigating',
			...incident
		},
		policy: DEFAULT_ESCALATION_POLICY,
		reports: [],
		lastApprovedUpdateAt: null,
		members: [],
		now: at(1),
		...rest
	};
}

const byKind = (clocks: Clock[], kind: Clock['kind']) => clocks.filter((c) => c.kind === kind);
const only = (clocks: Clock[], kind: Clock['kind']) => {
	const found = byKind(clocks, kind);
	expect(found).toHaveLength(1);
	return found[0]!;
};

describe('makeClock states', () => {
	const dueAt = at(30);
	it.each([
		[0, undefined, 'ok'],
		[24.99, undefined, 'ok'],
		[25, undefined, 'warning'],
		[30, undefined, 'warning'],
		[30.01, undefined, 'breached'],
		[40, 30, 'met'],
		[40, 20, 'met'],
		[40, 31, 'breached']
	] as const)('at T0+%s min with done at %s min the clock is %s', (nowMin, metMin, state) => {
		const clock = makeClock({
			kind: 'report_due',
			dueAt,
			warningLeadMinutes: 5,
			metAt: metMin === undefined ? null : at(metMin),
			now: at(nowMin)
		});
		expect(clock.state).toBe(state);
		expect(clock.warnAt).toEqual(at(25));
	});
});

describe('evaluatePolicy', () => {
	it('starts a P1 with a head-office report due in 30 min and an update due in 30 min', () => {
		const r = evaluatePolicy(input());
		expect(r.mustEscalateToHeadOffice).toBe(true);
		expect(r.headOfficeReasons).toEqual(['priority']);
		expect(only(r.clocks, 'report_due')).toMatchObject({ dueAt: at(30), state: 'ok' });
		expect(only(r.clocks, 'next_update_due')).toMatchObject({ dueAt: at(30), state: 'ok' });
	});

	it('gives a P2 two hours for the report and an hour between updates', () => {
		const r = evaluatePolicy(input({ incident: { priority: 'P2' } }));
		expect(only(r.clocks, 'report_due').dueAt).toEqual(at(120));
		expect(only(r.clocks, 'next_update_due').dueAt).toEqual(at(60));
	});

	it('sends a single-region P3 nowhere but still wants an update every two hours', () => {
		const r = evaluatePolicy(input({ incident: { priority: 'P3' } }));
		expect(r.mustEscalateToHeadOffice).toBe(false);
		expect(byKind(r.clocks, 'report_due')).toHaveLength(0);
		expect(only(r.clocks, 'next_update_due').dueAt).toEqual(at(120));
	});

	it('sends a P3 affecting two regions to head office within the cross-region window', () => {
		const r = evaluatePolicy(input({ incident: { priority: 'P3', regions: ['east', 'west'] } }));
		expect(r.mustEscalateToHeadOffice).toBe(true);
		expect(r.headOfficeReasons).toEqual(['cross_region']);
		expect(only(r.clocks, 'report_due').dueAt).toEqual(at(120));
	});

	it('runs no clock at all for a single-region P4 or P5', () => {
		for (const priority of ['P4', 'P5'] as const) {
			const r = evaluatePolicy(input({ incident: { priority } }));
			expect(r.clocks).toEqual([]);
		}
	});

	it('marks the report met by the first report sent in time, and breached when sent late', () => {
		const inTime = evaluatePolicy(
			input({
				now: at(50),
				reports: [
					{ kind: 'progress', sentAt: at(45) },
					{ kind: 'initial', sentAt: at(29) }
				]
			})
		);
		expect(only(inTime.clocks, 'report_due')).toMatchObject({ state: 'met', metAt: at(29) });

		const late = evaluatePolicy(input({ now: at(50), reports: [{ kind: 'initial', sentAt: at(31) }] }));
		expect(only(late.clocks, 'report_due')).toMatchObject({ state: 'breached', metAt: at(31) });
	});

	it('warns 5 min before the report is due and breaches after', () => {
		expect(only(evaluatePolicy(input({ now: at(26) })).clocks, 'report_due').state).toBe('warning');
		expect(only(evaluatePolicy(input({ now: at(31) })).clocks, 'report_due').state).toBe('breached');
	});

	it('counts the report window from a priority raise, so an upgraded incident does not start breached', () => {
		const r = evaluatePolicy(input({ now: at(200), incident: { priority: 'P1', priorityRaisedAt: at(190) } }));
		expect(only(r.clocks, 'report_due')).toMatchObject({ dueAt: at(220), state: 'ok' });
	});

	it('counts the next update from the last approved one', () => {
		const r = evaluatePolicy(input({ now: at(50), lastApprovedUpdateAt: at(28) }));
		expect(only(r.clocks, 'next_update_due')).toMatchObject({ dueAt: at(58), state: 'ok' });
	});

	it('counts the next update from a reopen when that is later than the last update', () => {
		const r = evaluatePolicy(input({ now: at(300), lastApprovedUpdateAt: at(100), incident: { reopenedAt: at(290) } }));
		expect(only(r.clocks, 'next_update_due').dueAt).toEqual(at(320));
	});

	it('stops update and page clocks once resolved, but keeps an unsent head-office report owed', () => {
		const r = evaluatePolicy(
			input({
				now: at(40),
				incident: { status: 'resolved' },
				members: [{ id: 'u1', pagedAt: at(35) }]
			})
		);
		expect(r.clocks.map((c) => c.kind)).toEqual(['report_due']);
		expect(r.clocks[0]!.state).toBe('breached');
	});

	it('runs no declaration clocks for a proposal, but does run its pages', () => {
		const r = evaluatePolicy(
			input({
				incident: { status: 'proposed', declaredAt: null },
				members: [{ id: 'u1', pagedAt: at(0) }]
			})
		);
		expect(r.mustEscalateToHeadOffice).toBe(false);
		expect(r.clocks.map((c) => c.kind)).toEqual(['member_ack_due']);
	});

	it('gives head office 15 min to acknowledge each report', () => {
		const r = evaluatePolicy(
			input({
				now: at(60),
				reports: [
					{ id: 'r1', kind: 'initial', sentAt: at(20), ackedAt: at(30) },
					{ id: 'r2', kind: 'progress', sentAt: at(50) }
				]
			})
		);
		expect(byKind(r.clocks, 'head_office_ack_due')).toEqual([
			{
				kind: 'head_office_ack_due',
				subjectId: 'r1',
				dueAt: at(35),
				warnAt: at(30),
				state: 'met',
				metAt: at(30)
			},
			{
				kind: 'head_office_ack_due',
				subjectId: 'r2',
				dueAt: at(65),
				warnAt: at(60),
				state: 'warning'
			}
		]);
	});

	it('gives each paged member 10 min to acknowledge, one clock per member', () => {
		const r = evaluatePolicy(
			input({
				now: at(12),
				members: [
					{ id: 'alice', pagedAt: at(0), ackedAt: at(3) },
					{ id: 'bob', pagedAt: at(0) },
					{ id: 'carol', pagedAt: at(5) }
				]
			})
		);
		expect(byKind(r.clocks, 'member_ack_due').map((c) => [c.subjectId, c.state, c.dueAt.getTime()])).toEqual([
			['alice', 'met', at(10).getTime()],
			['bob', 'breached', at(10).getTime()],
			['carol', 'warning', at(15).getTime()]
		]);
	});

	it('follows action items after closure, warning a day ahead', () => {
		const r = evaluatePolicy(
			input({
				now: at(0),
				incident: { status: 'closed' },
				reports: [{ kind: 'initial', sentAt: at(-100), ackedAt: at(-95) }],
				actionItems: [
					{ id: 'a1', dueAt: at(23 * 60) },
					{ id: 'a2', dueAt: at(48 * 60) },
					{ id: 'a3', dueAt: at(-60), doneAt: at(-120) }
				]
			})
		);
		expect(byKind(r.clocks, 'action_item_due').map((c) => [c.subjectId, c.state])).toEqual([
			['a1', 'warning'],
			['a2', 'ok'],
			['a3', 'met']
		]);
	});

	it('runs a drill’s clocks like a real incident and says it is a drill', () => {
		const drill = evaluatePolicy(input({ incident: { drill: true } }));
		const real = evaluatePolicy(input());
		expect(drill.drill).toBe(true);
		expect(drill.clocks).toEqual(real.clocks);
	});

	it('applies a stricter playbook rule', () => {
		const policy = { ...DEFAULT_ESCALATION_POLICY, updateIntervalMinutes: { P1: 15 } };
		expect(only(evaluatePolicy(input({ policy })).clocks, 'next_update_due').dueAt).toEqual(at(15));
	});
});

describe('dueReminders', () => {
	const clock = (overrides: Partial<Clock> = {}): Clock => ({
		kind: 'report_due',
		dueAt: at(30),
		warnAt: at(25),
		state: 'ok',
		...overrides
	});
	const run = (clocks: Clock[], minute: number, alreadySent = new Set<string>()) =>
		dueReminders({ incidentId: 'inc-1', clocks, alreadySent, now: at(minute) });

	it('sends nothing before the warning time', () => {
		expect(run([clock()], 24)).toEqual([]);
	});

	it('sends a warning in the warning window, keyed by incident, kind, due time and stage', () => {
		expect(run([clock()], 25)).toEqual([
			{
				key: 'inc-1:report_due:2026-11-22T02:30:00.000Z:warning',
				incidentId: 'inc-1',
				kind: 'report_due',
				stage: 'warning',
				dueAt: at(30)
			}
		]);
	});

	it('sends a breach once past due', () => {
		expect(run([clock()], 31).map((r) => r.key)).toEqual(['inc-1:report_due:2026-11-22T02:30:00.000Z:breach']);
	});

	it('does not send a reminder whose key was already sent', () => {
		const sent = new Set(['inc-1:report_due:2026-11-22T02:30:00.000Z:warning']);
		expect(run([clock()], 27, sent)).toEqual([]);
	});

	it('skips a stale warning once the breach is due, so a late tick sends only the breach', () => {
		expect(run([clock()], 45).map((r) => r.stage)).toEqual(['breach']);
	});

	it('sends nothing for a clock that was done, in time or late', () => {
		expect(run([clock({ metAt: at(20), state: 'met' })], 31)).toEqual([]);
		expect(run([clock({ metAt: at(40), state: 'breached' })], 45)).toEqual([]);
	});

	it('keeps members paged at the same instant apart by their subject id', () => {
		const pages = ['alice', 'bob'].map((subjectId) => clock({ kind: 'member_ack_due', subjectId, dueAt: at(10), warnAt: at(5) }));
		const keys = run(pages, 11).map((r) => r.key);
		expect(keys).toEqual([
			'inc-1:member_ack_due:2026-11-22T02:10:00.000Z:breach:alice',
			'inc-1:member_ack_due:2026-11-22T02:10:00.000Z:breach:bob'
		]);
	});

	it('builds the same key for the same clock and stage every time', () => {
		const a = reminderKey({
			incidentId: 'x',
			kind: 'next_update_due',
			dueAt: at(5),
			stage: 'breach'
		});
		const b = reminderKey({
			incidentId: 'x',
			kind: 'next_update_due',
			dueAt: new Date(at(5).toISOString()),
			stage: 'breach'
		});
		expect(a).toBe(b);
	});
});

/**
 * Simulates the escalation job ticking every minute across a span: each tick evaluates the policy
 * from scratch (as after a restart) and records what it sends.
 */
function tickThrough(options: { incident: Partial<PolicyIncident>; from: Date; minutes: number }) {
	const sent = new Set<string>();
	const log: (Reminder & { at: Date })[] = [];
	for (let m = 0; m <= options.minutes; m++) {
		const now = new Date(options.from.getTime() + m * MINUTE_MS);
		const { clocks } = evaluatePolicy(input({ now, incident: options.incident }));
		const report = clocks.filter((c) => c.kind === 'report_due');
		for (const r of dueReminders({
			incidentId: 'inc-dst',
			clocks: report,
			alreadySent: sent,
			now
		})) {
			sent.add(r.key);
			log.push({ ...r, at: now });
		}
	}
	return log;
}

const berlin = (d: Date) =>
	new Intl.DateTimeFormat('en-GB', {
		timeZone: 'Europe/Berlin',
		hour: '2-digit',
		minute: '2-digit',
		timeZoneName: 'short'
	}).format(d);

describe('reminders across a daylight-saving change (Europe/Berlin)', () => {
	it('sends one warning and one breach when clocks spring forward inside the window', () => {
		// 2026-03-29: at 02:00 CET Berlin jumps to 03:00 CEST. Declared 01:45 CET (00:45 UTC), a P1
		// report is due 30 real minutes later: 03:15 CEST. Wall-clock arithmetic would say 02:15,
		// a time that does not exist that night.
		const declaredAt = new Date('2026-03-29T00:45:00Z');
		expect(berlin(declaredAt)).toBe('01:45 CET');
		const log = tickThrough({ incident: { declaredAt }, from: declaredAt, minutes: 90 });
		expect(log.map((r) => [r.stage, r.at.toISOString()])).toEqual([
			['warning', '2026-03-29T01:10:00.000Z'],
			['breach', '2026-03-29T01:16:00.000Z']
		]);
		expect(berlin(log[0]!.dueAt)).toBe('03:15 CEST');
	});

	it('sends one warning and one breach when clocks fall back inside the window', () => {
		// 2026-10-25: at 03:00 CEST Berlin goes back to 02:00 CET, so 02:xx happens twice. Declared at
		// the first 02:40 (CEST, 00:40 UTC), the report is due at the second 02:10 (CET, 01:10 UTC) —
		// not 03:10 as wall-clock arithmetic would say, an hour late.
		const declaredAt = new Date('2026-10-25T00:40:00Z');
		expect(berlin(declaredAt)).toBe('02:40 CEST');
		const log = tickThrough({ incident: { declaredAt }, from: declaredAt, minutes: 120 });
		expect(log.map((r) => [r.stage, r.at.toISOString()])).toEqual([
			['warning', '2026-10-25T01:05:00.000Z'],
			['breach', '2026-10-25T01:11:00.000Z']
		]);
		expect(berlin(log[1]!.dueAt)).toBe('02:10 CET');
		expect(new Set(log.map((r) => r.key)).size).toBe(2);
	});
});
