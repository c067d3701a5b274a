/**
 * The monthly service-quality report and the satisfaction follow-up, on a real database (PGlite, or
 * PostgreSQL with TEST_DATABASE_URL): figures per organisation and unit with drills kept apart, the
 * job idempotent (one report per period and unit, however often it runs), CSV safe for spreadsheets,
 * and survey links single use and expiring.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type NotifyInput } from '../../src/lib/server/context';
import { saveOrgUnit, saveService } from '../../src/lib/server/services/catalogue.service';
import { changeStatus, declareIncident } from '../../src/lib/server/services/incident.service';
import { createActionItem } from '../../src/lib/server/services/action-item.service';
import * as report from '../../src/lib/server/services/report.service';
import * as survey from '../../src/lib/server/services/survey.service';
import { getReview } from '../../src/lib/server/services/review.service';
import { monthlyReportJob, reviewFollowUpJob } from '../../src/lib/server/jobs/review.job';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';

type User = Awaited<ReturnType<typeof makeUser>>;
function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
	return r.value;
}

let ctx: TestContext;
let manager: User, owner: User, responder: User;
let teamId: string, otherTeamId: string, payments: string, network: string;
const notices: NotifyInput[] = [];

beforeAll(async () => {
	ctx = await createTestContext({ orgTimeZone: 'Asia/Shanghai' });
	ctx.notify = { send: async (n) => void notices.push(n) };
	const hq = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, { input: { code: 'HQ', nameZh: '总部', nameEn: 'Head office', kind: 'head_office' } })
	);
	const east = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, {
			input: { code: 'EAST', nameZh: '华东中心', nameEn: 'East centre', kind: 'region', parentId: hq.id }
		})
	);
	teamId = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, {
			input: { code: 'EAST-PAY', nameZh: '支付组', nameEn: 'Payments team', kind: 'team', parentId: east.id }
		})
	).id;
	otherTeamId = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, {
			input: { code: 'NET', nameZh: '网络组', nameEn: 'Network team', kind: 'team', parentId: hq.id }
		})
	).id;
	payments = must(
		await saveService(ctx, SYSTEM_ACTOR, {
			input: { code: 'PAYMENTS', nameZh: '支付系统', nameEn: 'Payments', criticality: 'critical', regions: ['east'], ownerTeamId: teamId }
		})
	).id;
	network = must(
		await saveService(ctx, SYSTEM_ACTOR, {
			input: { code: 'WAN', nameZh: '广域网', nameEn: 'WAN', criticality: 'high', regions: ['north'], ownerTeamId: otherTeamId }
		})
	).id;
	manager = await makeUser(ctx, { role: 'manager', displayName: 'Wang Li' });
	owner = await makeUser(ctx, { role: 'manager', displayName: '支付负责人 Pay owner', orgUnitId: teamId });
	responder = await makeUser(ctx, { role: 'responder' });
});
afterAll(async () => {
	await ctx?.close();
});

async function resolvedIncident(opts: { title: string; service: string; at: string; drill?: boolean; minutesToResolve: number }) {
	const t0 = new Date(opts.at);
	ctx.setNow(t0);
	const inc = must(
		await declareIncident(ctx, manager.actor, {
			title: opts.title,
			impact: 'significant',
			urgency: 'high',
			services: [opts.service],
			drill: opts.drill ?? false,
			detectedAt: opts.at
		})
	).incident;
	ctx.setNow(new Date(t0.getTime() + opts.minutesToResolve * 60_000));
	must(await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'mitigated' }));
	must(await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'resolved' }));
	return inc;
}

describe(`satisfaction follow-up on ${dbLabel}`, () => {
	it('sends the service owner one link that works once, without an account, and expires', async () => {
		const inc = await resolvedIncident({
			title: '支付超时 Payment timeouts',
			service: payments,
			at: '2026-10-05T02:00:00Z',
			minutesToResolve: 90
		});
		const links = await survey.sendSurveys(ctx, { incidentId: inc.id });
		expect(links.map((l) => l.recipientId)).toEqual([owner.id]);
		expect(notices.some((n) => n.event === 'survey.sent' && n.recipients.includes(owner.id))).toBe(true);
		// Asking again sends nothing new.
		expect(await survey.sendSurveys(ctx, { incidentId: inc.id })).toEqual([]);

		const token = links[0]!.link.split('/survey/')[1]!;
		expect(must(await survey.getSurvey(ctx, { token })).serviceCode).toBe('PAYMENTS');
		const bad = await survey.answerSurvey(ctx, { token, score: 7 });
		expect(!bad.ok && bad.error.code).toBe('invalid');
		must(await survey.answerSurvey(ctx, { token, score: 4, comment: '处理及时 Quick' }));
		const again = await survey.answerSurvey(ctx, { token, score: 1 });
		expect(!again.ok && again.error.code).toBe('used');
		expect((await survey.getSurvey(ctx, { token: 'x'.repeat(43) })).ok).toBe(false);

		// The answer shows in the review.
		const review = must(await getReview(ctx, manager.actor, { incidentId: inc.id }));
		expect(review.facts.satisfaction).toMatchObject({ answered: 1, meanScore: 4 });
		expect(review.facts.satisfaction.responses[0]?.comment).toBe('处理及时 Quick');
	});

	it('refuses an expired link', async () => {
		const inc = await resolvedIncident({ title: 'Card auth slow', service: payments, at: '2026-10-07T02:00:00Z', minutesToResolve: 30 });
		const [link] = await survey.sendSurveys(ctx, { incidentId: inc.id });
		const token = link!.link.split('/survey/')[1]!;
		ctx.setNow(new Date(new Date('2026-10-07T02:30:00Z').getTime() + survey.SURVEY_TTL_MS + 1000));
		const late = await survey.answerSurvey(ctx, { token, score: 5 });
		expect(!late.ok && late.error.code).toBe('expired');
	});
});

describe(`the monthly service-quality report on ${dbLabel}`, () => {
	it('counts the month per organisation and unit, keeps drills apart, and the job is idempotent', async () => {
		await resolvedIncident({ title: 'WAN flap', service: network, at: '2026-10-20T02:00:00Z', minutesToResolve: 45 });
		const drill = await resolvedIncident({
			title: 'Failover drill',
			service: payments,
			at: '2026-10-21T02:00:00Z',
			minutesToResolve: 20,
			drill: true
		});
		// Declared on 1 Nov in Shanghai (31 Oct in UTC): November's, not October's.
		await resolvedIncident({ title: 'Next month', service: payments, at: '2026-10-31T17:00:00Z', minutesToResolve: 10 });
		ctx.setNow(new Date('2026-10-22T00:00:00Z'));
		const someIncident = (await ctx.db.selectFrom('incidents').select('id').where('title', '=', 'WAN flap').executeTakeFirstOrThrow()).id;
		must(
			await createActionItem(ctx, manager.actor, {
				incidentId: someIncident,
				input: { title: 'Second WAN link', type: 'preventive', dueDate: '2026-10-25' }
			})
		);

		const now = new Date('2026-11-01T01:00:00+08:00');
		await reviewFollowUpJob.run(ctx, now);
		await monthlyReportJob.run(ctx, now);
		await monthlyReportJob.run(ctx, new Date('2026-11-01T02:00:00+08:00'));
		const rows = await ctx.db
			.selectFrom('monthly_reports')
			.select(['period', 'org_unit_id', 'generated_at'])
			.where('period', '=', '2026-10')
			.execute();
		expect(rows.filter((r) => r.org_unit_id === null)).toHaveLength(1);
		expect(rows).toHaveLength(5); // the organisation and its four units
		// On demand replaces, it never adds.
		ctx.setNow(new Date('2026-11-02T00:00:00Z'));
		must(await report.generateOnDemand(ctx, manager.actor, { period: '2026-10' }));
		expect(await ctx.db.selectFrom('monthly_reports').select('id').where('period', '=', '2026-10').execute()).toHaveLength(5);
		expect((await report.generateOnDemand(ctx, responder.actor, { period: '2026-10' })).ok).toBe(false);
		expect((await report.generateOnDemand(ctx, manager.actor, { period: '2027-01' })).ok).toBe(false);

		const whole = must(await report.getMonthlyReport(ctx, manager.actor, { period: '2026-10' })).data;
		expect(whole.incidents.count).toBe(3);
		expect(whole.incidents.byService.map((s) => [s.code, s.count])).toEqual([
			['PAYMENTS', 2],
			['WAN', 1]
		]);
		expect(whole.drills.map((d) => d.number)).toEqual([drill.number]);
		expect(whole.mttr.samples).toBe(3);
		expect(whole.actionItems).toEqual({ opened: 1, closed: 0, overdue: 1 });
		expect(whole.satisfaction.answered).toBe(1);
		expect(whole.satisfaction.meanScore).toBe(4);

		const pay = must(await report.getMonthlyReport(ctx, manager.actor, { period: '2026-10', orgUnitId: teamId })).data;
		expect(pay.incidents.count).toBe(2);
		expect(pay.incidents.byService.map((s) => s.code)).toEqual(['PAYMENTS']);
		expect(pay.actionItems.opened).toBe(0);
		const net = must(await report.getMonthlyReport(ctx, manager.actor, { period: '2026-10', orgUnitId: otherTeamId })).data;
		expect(net.incidents.count).toBe(1);
		expect(net.drills).toEqual([]);
		expect(net.satisfaction.answered).toBe(0);
	});

	it('exports CSV that a spreadsheet cannot execute, and Markdown and PDF with Chinese text', async () => {
		ctx.setNow(new Date('2026-11-03T00:00:00Z'));
		const csv = must(await report.exportMonthlyReport(ctx, manager.actor, { period: '2026-10', format: 'csv', locale: 'zh-CN' }));
		const text = String(csv.body);
		expect(text.split('\r\n')[0]).toBe('\uFEFFperiod,unit,section,item,value');
		expect(text).toContain('2026-10,全组织,incidents,count,3');
		const md = must(await report.exportMonthlyReport(ctx, manager.actor, { period: '2026-10', format: 'md', locale: 'zh-CN' }));
		expect(String(md.body)).toContain('# 服务质量报告 2026-10 — 全组织');
		const pdf = must(await report.exportMonthlyReport(ctx, manager.actor, { period: '2026-10', format: 'pdf', locale: 'zh-CN' }));
		expect(Buffer.from((pdf.body as Uint8Array).subarray(0, 5)).toString()).toBe('%PDF-');
		const denied = await report.exportMonthlyReport(ctx, responder.actor, { period: '2026-10', format: 'csv', locale: 'en' });
		expect(!denied.ok && denied.error.code).toBe('forbidden');
	});

	it('neutralises formulas in CSV cells', () => {
		const data = {
			period: '2026-10',
			orgUnit: null,
			satisfaction: {
				sent: 1,
				answered: 1,
				meanScore: 1,
				distribution: [1, 0, 0, 0, 0],
				comments: [{ incidentNumber: 'INC-1', serviceCode: 'X', score: 1, comment: '=HYPERLINK("http://evil")' }]
			}
		};
		const full = { ...emptyReport(), ...data } as report.MonthlyReportData;
		expect(report.reportCsv(full, 'en')).toContain(`"'=HYPERLINK(""http://evil"")"`);
	});
});

function emptyReport(): report.MonthlyReportData {
	const mean = { meanMs: null, samples: 0 };
	const att = { met: 0, breached: 0, pending: 0, percentage: null };
	return {
		period: '2026-10',
		orgUnit: null,
		range: { start: '', end: '' },
		generatedAt: '',
		incidents: { count: 0, byPriority: { P1: 0, P2: 0, P3: 0, P4: 0, P5: 0 }, byService: [], byCategory: [], list: [] },
		mtta: mean,
		mttm: mean,
		mttr: mean,
		attainment: { report_due: att, next_update_due: att, head_office_ack_due: att, member_ack_due: att, action_item_due: att },
		escalations: { incidents: 0, reports: 0, meanAckMs: null },
		drills: [],
		actionItems: { opened: 0, closed: 0, overdue: 0 },
		satisfaction: { sent: 0, answered: 0, meanScore: null, distribution: [0, 0, 0, 0, 0], comments: [] }
	};
}
