import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext, NotifyInput, SystemEntry } from '../../src/lib/server/context';
import { SYSTEM_ACTOR } from '../../src/lib/server/context';
import { openDatabase } from '../../src/lib/server/db/index';
import { EventBus } from '../../src/lib/server/events';
import { escalationClocksJob } from '../../src/lib/server/jobs/escalation-clocks.job';
import { parseCoordinatorKey } from '../../src/lib/server/jobs/lease-coordinator';
import { createJobRunner, cronPattern, registerJob, type Job } from '../../src/lib/server/jobs/scheduler';
import * as escalationRepo from '../../src/lib/server/repositories/escalation.repository';
import { saveOrgUnit, saveService } from '../../src/lib/server/services/catalogue.service';
import { runEscalationClocks } from '../../src/lib/server/services/clocks.service';
import { declareIncident } from '../../src/lib/server/services/incident.service';
import { addMember, pageMembers } from '../../src/lib/server/services/membership.service';
import { createTestContext, dbLabel, makeUser, onPostgres, type TestContext } from '../helpers/context';

type User = Awaited<ReturnType<typeof makeUser>>;

let ctx: TestContext;
let manager: User, responder: User, regionalManager: User;
let service: string;
const notices: NotifyInput[] = [];
const entries: { incidentId: string; entry: SystemEntry }[] = [];

function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
	return r.value;
}

/** A P1 incident declared at `at` (its next-update clock: 30 min; report to head office: 30 min). */
async function p1(at: string, title: string) {
	ctx.setNow(new Date(at));
	return must(await declareIncident(ctx, manager.actor, { title, impact: 'extensive', urgency: 'critical', services: [service] })).incident;
}

const byIncident = (id: string, event?: string) => notices.filter((n) => n.incidentId === id && (!event || n.event === event));

beforeAll(async () => {
	ctx = await createTestContext({ orgTimeZone: 'America/New_York' });
	ctx.collab = {
		appendSystemEntry: async (incidentId, entry) => void entries.push({ incidentId, entry }),
		transact: async () => undefined,
		read: async () => [] as never
	};
	ctx.notify = { send: async (n) => void notices.push(n) };
	const hq = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, { input: { code: 'HQ', nameZh: '总部', nameEn: 'Head office', kind: 'head_office' } })
	);
	const region = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, {
			input: { code: 'EAST', nameZh: '华东中心', nameEn: 'East centre', kind: 'region', parentId: hq.id }
		})
	);
	const team = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, {
			input: { code: 'EAST-NET', nameZh: '网络组', nameEn: 'Network team', kind: 'team', parentId: region.id }
		})
	);
	service = must(
		await saveService(ctx, SYSTEM_ACTOR, {
			input: { code: 'NET', nameZh: '网络', nameEn: 'Network', criticality: 'critical', regions: ['east'] }
		})
	).id;
	manager = await makeUser(ctx, { role: 'manager', displayName: 'Wang Li', orgUnitId: team.id });
	responder = await makeUser(ctx, { role: 'responder', displayName: 'Li Qiang', orgUnitId: team.id });
	regionalManager = await makeUser(ctx, { role: 'manager', displayName: 'Qian Hua', orgUnitId: region.id });
});

afterAll(async () => {
	await ctx?.close();
});

describe(`the scheduler on ${dbLabel}`, () => {
	it('turns intervals into UTC cron patterns and refuses uneven ones', () => {
		expect(cronPattern(30)).toBe('*/30 * * * * *');
		expect(cronPattern(300)).toBe('0 */5 * * * *');
		expect(cronPattern(3600)).toBe('0 0 * * * *');
		expect(() => cronPattern(45)).toThrow(/divide 60/);
		expect(() => cronPattern(420)).toThrow(/divide an hour/);
		expect(() => registerJob({ name: 'Bad Name', everySeconds: 30, run: async () => undefined })).toThrow(/kebab-case/);
		expect(parseCoordinatorKey('escalation-clocks:2026-11-01T06:00:00.000Z')).toEqual({
			name: 'escalation-clocks',
			slot: new Date('2026-11-01T06:00:00.000Z')
		});
		expect(() => parseCoordinatorKey('nonsense')).toThrow(/malformed/);
	});

	it('runs a slot once per lease, the next slot again, and a failing tick is logged without stopping the runner', async () => {
		let runs = 0;
		const job: Job = { name: 'count-runs', everySeconds: 30, run: async () => void runs++ };
		const failing: Job = { name: 'always-fails', everySeconds: 30, run: async () => Promise.reject(new Error('boom')) };
		const runner = createJobRunner(ctx, { holderId: 'node-a', jobs: [job, failing] });
		const slot = new Date('2026-11-22T00:00:00Z');
		expect(await runner.runSlot('count-runs', slot)).toBe(true);
		expect(await runner.runSlot('count-runs', slot)).toBe(false);
		expect(await runner.runSlot('count-runs', new Date('2026-11-22T00:00:30Z'))).toBe(true);
		expect(runs).toBe(2);
		expect(await runner.runSlot('always-fails', slot)).toBe(false);
		expect(await runner.runSlot('always-fails', new Date('2026-11-22T00:00:30Z'))).toBe(false);
		runner.start();
		runner.start();
		await runner.stop();
		await runner.stop();
	});

	it('a lease held by a running tick keeps another node off the next slot until it ends', async () => {
		const now = new Date();
		expect(
			await escalationRepo.tryTakeLease(ctx.db, {
				name: 'slow',
				holder: 'a',
				slot: new Date('2026-01-01T00:00:00Z'),
				until: new Date(now.getTime() + 60_000),
				now
			})
		).toBe(true);
		expect(
			await escalationRepo.tryTakeLease(ctx.db, {
				name: 'slow',
				holder: 'b',
				slot: new Date('2026-01-01T00:00:30Z'),
				until: new Date(now.getTime() + 60_000),
				now
			})
		).toBe(false);
		await escalationRepo.releaseLease(ctx.db, { name: 'slow', holder: 'a', now });
		expect(
			await escalationRepo.tryTakeLease(ctx.db, {
				name: 'slow',
				holder: 'b',
				slot: new Date('2026-01-01T00:00:30Z'),
				until: new Date(now.getTime() + 60_000),
				now
			})
		).toBe(true);
	});
});

describe(`the escalation-clocks job on ${dbLabel}`, () => {
	it('sends a warning once and a breach once however often the tick runs, records the breach and escalates one level up', async () => {
		const inc = await p1('2026-11-20T08:00:00Z', 'Core switch down');
		// 08:26: inside the 5-minute warning window of the 08:30 report and update clocks.
		const warnAt = new Date('2026-11-20T08:26:00Z');
		await runEscalationClocks(ctx, warnAt);
		await runEscalationClocks(ctx, warnAt);
		const warnings = byIncident(inc.id, 'clock.warning');
		expect(warnings.map((n) => n.dedupeKey).sort()).toEqual([
			`clock:${inc.id}:next_update_due:2026-11-20T08:30:00.000Z:warning`,
			`clock:${inc.id}:report_due:2026-11-20T08:30:00.000Z:warning`
		]);
		expect(warnings[0]!.recipients).toEqual([manager.id]);

		const breachAt = new Date('2026-11-20T08:31:00Z');
		const first = await runEscalationClocks(ctx, breachAt);
		const second = await runEscalationClocks(ctx, breachAt);
		expect(first.breaches).toBe(2);
		expect(second.reminders).toBe(0);
		expect(byIncident(inc.id, 'clock.breach')).toHaveLength(2);
		const escalated = byIncident(inc.id, 'clock.escalated');
		expect(escalated).toHaveLength(2);
		expect(escalated[0]!.recipients).toEqual([regionalManager.id]);
		expect(entries.some((e) => e.incidentId === inc.id && e.entry.text.en.includes('East centre'))).toBe(true);
		const breaches = await escalationRepo.listBreaches(ctx.db, [inc.id]);
		expect(breaches.map((b) => b.clock_kind).sort()).toEqual(['next_update_due', 'report_due']);
	});

	it('catches up after a restart: what came due while down is sent once on the next tick, without a stale warning', async () => {
		const inc = await p1('2026-11-20T10:00:00Z', 'Payments gateway down');
		// Nothing ran between 10:00 and 11:00 (the process was down).
		const out = await runEscalationClocks(ctx, new Date('2026-11-20T11:00:00Z'));
		expect(out.breaches).toBeGreaterThanOrEqual(2);
		expect(byIncident(inc.id, 'clock.warning')).toHaveLength(0);
		expect(byIncident(inc.id, 'clock.breach').map((n) => n.dedupeKey)).toContain(
			`clock:${inc.id}:report_due:2026-11-20T10:30:00.000Z:breach`
		);
		await runEscalationClocks(ctx, new Date('2026-11-20T11:00:30Z'));
		expect(byIncident(inc.id, 'clock.breach').filter((n) => n.dedupeKey?.includes(':report_due:'))).toHaveLength(1);
	});

	it('re-pages a member who did not acknowledge, through the membership service', async () => {
		const inc = await p1('2026-11-20T12:00:00Z', 'DNS failure');
		must(await addMember(ctx, manager.actor, { incidentId: inc.id, userId: responder.id, role: 'technical_lead' }));
		must(await pageMembers(ctx, manager.actor, { incidentId: inc.id, userIds: [responder.id] }));
		const memberRow = () =>
			ctx.db
				.selectFrom('incident_members')
				.selectAll()
				.where('incident_id', '=', inc.id)
				.where('user_id', '=', responder.id)
				.executeTakeFirstOrThrow();
		const pagesBefore = (await memberRow()).page_count;
		notices.length = 0;
		const out = await runEscalationClocks(ctx, new Date('2026-11-20T12:11:00Z'));
		expect(out.repaged).toBe(1);
		const pages = notices.filter((n) => n.event === 'member.paged' && n.recipients.includes(responder.id));
		expect(pages).toHaveLength(1);
		expect((await memberRow()).page_count).toBe(pagesBefore + 1);
		// The new page is a new clock, due ten minutes after it: nothing more now.
		expect((await runEscalationClocks(ctx, new Date('2026-11-20T12:11:30Z'))).repaged).toBe(0);
	});

	it('neither skips nor doubles a reminder across the daylight-saving fall-back (fixed now, America/New_York)', async () => {
		// 2026-11-01 06:00Z is 02:00 EDT → 01:00 EST. Declared at 01:45 EDT (05:45Z): due 30 real
		// minutes later, 06:15Z — 01:15 EST on the wall clock, which is "earlier" than declaration.
		const inc = await p1('2026-11-01T05:45:00Z', 'Card authorisation slow');
		for (const t of ['06:09:00', '06:10:00', '06:10:30', '06:14:59', '06:15:00', '06:15:01', '06:15:30', '07:15:01']) {
			await runEscalationClocks(ctx, new Date(`2026-11-01T${t}Z`));
		}
		const mine = byIncident(inc.id).filter((n) => n.event.startsWith('clock.') && n.dedupeKey?.includes(':next_update_due:'));
		expect(mine.map((n) => n.event)).toEqual(['clock.warning', 'clock.breach', 'clock.escalated']);
		expect(mine[0]!.dedupeKey).toContain('2026-11-01T06:15:00.000Z');
		expect(mine[1]!.body.en).toContain('2026-11-01 01:15');
	});

	it.skipIf(!onPostgres)('runs each tick once across two processes sharing one PostgreSQL database', async () => {
		const inc = await p1('2026-11-21T08:00:00Z', 'Two nodes race');
		const other = await openDatabase({ databaseUrl: ctx.databaseUrl!, poolSize: 5 });
		const otherNotices: NotifyInput[] = [];
		const fixed = new Date('2026-11-21T08:31:00Z');
		const ctxB: AppContext = {
			db: other.db,
			dbKind: other.kind,
			config: ctx.config,
			events: new EventBus(),
			now: () => fixed,
			notify: { send: async (n) => void otherNotices.push(n) }
		};
		ctx.setNow(fixed);
		try {
			const a = createJobRunner(ctx, { holderId: 'node-a', jobs: [escalationClocksJob] });
			const b = createJobRunner(ctxB, { holderId: 'node-b', jobs: [escalationClocksJob] });
			const slot = new Date('2026-11-21T08:31:00Z');
			const ran = await Promise.all([a.runSlot('escalation-clocks', slot), b.runSlot('escalation-clocks', slot)]);
			expect(ran.filter(Boolean)).toHaveLength(1);
			// Even ticks that do run concurrently (no coordinator) send each reminder once: the claim is atomic.
			await Promise.all([runEscalationClocks(ctx, fixed), runEscalationClocks(ctxB, fixed)]);
			const all = [
				...byIncident(inc.id, 'clock.breach'),
				...otherNotices.filter((n) => n.incidentId === inc.id && n.event === 'clock.breach')
			];
			expect(all.map((n) => n.dedupeKey).sort()).toEqual([
				`clock:${inc.id}:next_update_due:2026-11-21T08:30:00.000Z:breach`,
				`clock:${inc.id}:report_due:2026-11-21T08:30:00.000Z:breach`
			]);
		} finally {
			await other.close();
		}
	});
});
