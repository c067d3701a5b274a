import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SYSTEM_ACTOR, type NotifyInput, type SystemEntry } from '../../src/lib/server/context';
import { verifyChain } from '../../src/lib/server/services/audit.service';
import { saveOrgUnit, saveService } from '../../src/lib/server/services/catalogue.service';
import {
	acknowledgeReport,
	approveCommunication,
	contentHash,
	draftCommunication,
	editCommunication,
	getPolicy,
	lastApprovedStatusLines,
	listCommunications,
	listInbox,
	requestUpdate,
	returnCommunication,
	savePolicy,
	submitCommunication
} from '../../src/lib/server/services/escalation.service';
import { getClocks } from '../../src/lib/server/services/clocks.service';
import { changeStatus, declareIncident } from '../../src/lib/server/services/incident.service';
import { addMember } from '../../src/lib/server/services/membership.service';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';

type User = Awaited<ReturnType<typeof makeUser>>;

let ctx: TestContext;
let manager: User, deputy: User, comms: User, exec: User, responder: User, admin: User;
let coreBanking: string;
const entries: { incidentId: string; entry: SystemEntry }[] = [];
const notices: NotifyInput[] = [];
const doc = new Y.Doc();

function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
	return r.value;
}

function failure(r: { ok: boolean; error?: { code: string; params?: Record<string, unknown>; errors?: { field?: string }[] } }) {
	expect(r.ok).toBe(false);
	return r.error!;
}

async function incidentWithGroup(title: string) {
	const inc = must(
		await declareIncident(ctx, manager.actor, {
			title,
			description: 'Core banking answers in 8 s',
			impact: 'extensive',
			urgency: 'high',
			services: [coreBanking]
		})
	).incident;
	must(await addMember(ctx, manager.actor, { incidentId: inc.id, userId: deputy.id, role: 'deputy' }));
	must(await addMember(ctx, manager.actor, { incidentId: inc.id, userId: comms.id, role: 'communications_lead' }));
	return inc;
}

beforeAll(async () => {
	ctx = await createTestContext();
	ctx.collab = {
		appendSystemEntry: async (incidentId, entry) => void entries.push({ incidentId, entry }),
		transact: async () => undefined,
		// One shared document stands in for every incident: the drafting code reads pinned entries.
		read: async (_id, fn) => fn(doc)
	};
	ctx.notify = { send: async (n) => void notices.push(n) };
	const hq = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, { input: { code: 'HQ', nameZh: '总部', nameEn: 'Head office', kind: 'head_office' } })
	);
	const east = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, {
			input: { code: 'EAST', nameZh: '华东中心', nameEn: 'East centre', kind: 'region', parentId: hq.id }
		})
	);
	const team = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, {
			input: { code: 'EAST-DB', nameZh: '数据库组', nameEn: 'DB team', kind: 'team', parentId: east.id }
		})
	);
	coreBanking = must(
		await saveService(ctx, SYSTEM_ACTOR, {
			input: { code: 'CORE-BANKING', nameZh: '核心银行系统', nameEn: 'Core banking', criticality: 'critical', regions: ['east', 'north'] }
		})
	).id;
	manager = await makeUser(ctx, { role: 'manager', displayName: 'Wang Li', orgUnitId: team.id });
	deputy = await makeUser(ctx, { role: 'responder', displayName: 'Zhao Min', orgUnitId: team.id });
	comms = await makeUser(ctx, { role: 'responder', displayName: 'Sun Yu', orgUnitId: team.id });
	responder = await makeUser(ctx, { role: 'responder', displayName: 'Li Qiang', orgUnitId: team.id });
	exec = await makeUser(ctx, { role: 'viewer', displayName: 'Liu Wei', orgUnitId: hq.id });
	admin = await makeUser(ctx, { role: 'admin', displayName: 'Admin' });
	// A pinned action and a deleted one in the shared timeline.
	doc.transact(() => {
		const add = (fields: Record<string, unknown>) => {
			const m = new Y.Map<unknown>();
			for (const [k, v] of Object.entries(fields)) m.set(k, v);
			doc.getArray<Y.Map<unknown>>('timeline').push([m]);
		};
		add({
			at: '2026-11-22T01:05:00.000Z',
			kind: 'action',
			text: new Y.Text('切换到备库 Switched to the standby database'),
			pinned: true,
			deletedAt: null
		});
		add({
			at: '2026-11-22T01:06:00.000Z',
			kind: 'action',
			text: new Y.Text('deleted entry'),
			pinned: true,
			deletedAt: '2026-11-22T01:07:00.000Z'
		});
		add({ at: '2026-11-22T01:07:00.000Z', kind: 'note', text: new Y.Text('unpinned chatter'), pinned: false, deletedAt: null });
	});
});

afterAll(async () => {
	await ctx?.close();
});

describe(`reports to head office on ${dbLabel}`, () => {
	it('drafts a report from the incident facts and the pinned timeline, versions edits and diffs them', async () => {
		ctx.setNow(new Date('2026-11-22T01:10:00Z'));
		const inc = await incidentWithGroup('核心银行系统响应缓慢');
		const draft = must(await draftCommunication(ctx, comms.actor, { incidentId: inc.id, kind: 'head_office_report' }));
		expect(draft.reportKind).toBe('initial');
		expect(draft.state).toBe('draft');
		expect(draft.content.facts.number).toBe(inc.number);
		expect(draft.content.facts.priority).toBe('P1');
		expect(draft.content.facts.regions.sort()).toEqual(['east', 'north']);
		expect(draft.content.facts.inCharge?.name).toBe('Wang Li');
		expect(draft.content.text.actionsTaken?.en).toContain('Switched to the standby database');
		expect(draft.content.text.actionsTaken?.en).not.toContain('deleted entry');
		expect(draft.content.text.actionsTaken?.en).not.toContain('unpinned chatter');

		const again = await draftCommunication(ctx, comms.actor, { incidentId: inc.id, kind: 'head_office_report' });
		expect(failure(again).code).toBe('conflict');

		const bad = await editCommunication(ctx, comms.actor, { id: draft.id, text: { title: { 'zh-CN': '', en: '' }, bogus: {} } });
		const fields = (failure(bad).errors ?? []).map((e) => e.field);
		expect(fields).toContain('text.title.zh-CN');
		expect(fields).toContain('text.bogus');

		const edited = must(
			await editCommunication(ctx, comms.actor, {
				id: draft.id,
				version: draft.version,
				text: { nextSteps: { 'zh-CN': '联系厂商', en: 'Call the vendor' }, eta: { 'zh-CN': '02:00 前', en: 'by 02:00' } }
			})
		);
		expect(edited.version).toBe(2);
		expect(edited.revisions).toHaveLength(1);
		const inserted = edited.revisions[0]!.diff.en.filter((d) => d.op === 'insert')
			.map((d) => d.text)
			.join('');
		expect(inserted).toContain('Call the vendor');
		const stale = await editCommunication(ctx, comms.actor, { id: draft.id, version: 1, text: { eta: { 'zh-CN': 'x', en: 'x' } } });
		expect(failure(stale).code).toBe('conflict');
	});

	it('refuses self-approval, returns with comments, takes the fix, and the deputy approves: frozen, hashed, sent to head office', async () => {
		ctx.setNow(new Date('2026-11-22T02:00:00Z'));
		const inc = await incidentWithGroup('支付超时');
		const draft = must(await draftCommunication(ctx, manager.actor, { incidentId: inc.id, kind: 'head_office_report' }));
		must(await submitCommunication(ctx, manager.actor, { id: draft.id }));

		const own = await approveCommunication(ctx, manager.actor, { id: draft.id });
		expect(failure(own).code).toBe('forbidden');
		expect(failure(own).params?.reason).toBe('own_draft');
		const byResponder = await approveCommunication(ctx, responder.actor, { id: draft.id });
		expect(failure(byResponder).code).toBe('forbidden');
		const notEditable = await editCommunication(ctx, manager.actor, { id: draft.id, text: { eta: { 'zh-CN': 'x', en: 'x' } } });
		expect(failure(notEditable).code).toBe('conflict');

		const noComment = await returnCommunication(ctx, deputy.actor, { id: draft.id, comment: '  ' });
		expect(failure(noComment).code).toBe('invalid');
		const returned = must(await returnCommunication(ctx, deputy.actor, { id: draft.id, comment: 'Add the number of affected branches' }));
		expect(returned.state).toBe('returned');
		expect(returned.returnComment).toBe('Add the number of affected branches');
		expect(notices.some((n) => n.event === 'report.returned' && n.recipients.includes(manager.id))).toBe(true);
		expect(entries.some((e) => e.incidentId === inc.id && e.entry.text.en.includes('Add the number of affected branches'))).toBe(true);

		must(
			await editCommunication(ctx, manager.actor, {
				id: draft.id,
				text: { impact: { 'zh-CN': '华东 120 个网点', en: '120 branches in the east' } }
			})
		);
		must(await submitCommunication(ctx, manager.actor, { id: draft.id }));
		notices.length = 0;
		const approved = must(await approveCommunication(ctx, deputy.actor, { id: draft.id }));
		expect(approved.state).toBe('sent');
		expect(approved.overrideReason).toBeNull();
		expect(approved.content.facts.approver).toEqual({ name: 'Zhao Min', override: false });
		expect(approved.contentHash).toBe(contentHash(approved.content));
		expect(approved.events.map((e) => e.action)).toEqual(['drafted', 'submitted', 'returned', 'edited', 'submitted', 'approved', 'sent']);
		const sent = notices.find((n) => n.event === 'report.sent');
		expect(sent?.recipients).toEqual([exec.id]);
		expect(sent?.dedupeKey).toBe(`communication:${draft.id}:sent`);

		// The hash is in the audit chain, and the chain still verifies.
		const events = await ctx.db.selectFrom('audit_events').select(['action', 'after']).where('subject_id', '=', draft.id).execute();
		const approval = events.find((e) => e.action === 'head_office_report.approved');
		const after = (typeof approval?.after === 'string' ? JSON.parse(approval.after) : approval?.after) as { contentHash: string };
		expect(after.contentHash).toBe(approved.contentHash);
		expect((await verifyChain(ctx.db)).ok).toBe(true);

		const frozen = await editCommunication(ctx, manager.actor, { id: draft.id, text: { eta: { 'zh-CN': 'x', en: 'x' } } });
		expect(failure(frozen).code).toBe('conflict');
	});

	it('lets the incident manager override the four-eyes rule only with a reason, and flags it everywhere', async () => {
		ctx.setNow(new Date('2026-11-22T03:00:00Z'));
		const inc = await incidentWithGroup('网银登录失败');
		const draft = must(await draftCommunication(ctx, manager.actor, { incidentId: inc.id, kind: 'head_office_report' }));
		must(await submitCommunication(ctx, manager.actor, { id: draft.id }));
		notices.length = 0;
		const approved = must(
			await approveCommunication(ctx, manager.actor, { id: draft.id, overrideReason: 'Deputy unreachable, P1 report due in 2 minutes' })
		);
		expect(approved.overrideReason).toBe('Deputy unreachable, P1 report due in 2 minutes');
		expect(approved.content.facts.approver?.override).toBe(true);
		expect(approved.events.map((e) => e.action)).toContain('overridden');
		expect(entries.some((e) => e.incidentId === inc.id && e.entry.pinned && e.entry.text.en.includes('EMERGENCY OVERRIDE'))).toBe(true);
		expect(notices.find((n) => n.event === 'report.sent')?.body.en).toContain('EMERGENCY OVERRIDE');

		// A deputy cannot override their own draft (not the incident manager, no override_approval).
		const second = must(await draftCommunication(ctx, deputy.actor, { incidentId: inc.id, kind: 'head_office_report' }));
		expect(second.reportKind).toBe('progress');
		expect(second.sequence).toBe(1);
		must(
			await editCommunication(ctx, comms.actor, {
				id: second.id,
				text: { currentStatus: { 'zh-CN': '已恢复八成交易', en: '80% of transactions restored' } }
			})
		);
		must(await submitCommunication(ctx, deputy.actor, { id: second.id }));
		const deputyOverride = await approveCommunication(ctx, deputy.actor, { id: second.id, overrideReason: 'hurry' });
		expect(failure(deputyOverride).code).toBe('forbidden');
		const needless = await approveCommunication(ctx, manager.actor, { id: second.id, overrideReason: 'not needed' });
		expect(failure(needless).code).toBe('invalid');
		const ok2 = must(await approveCommunication(ctx, manager.actor, { id: second.id }));
		expect(
			ok2.diff.en
				.filter((d) => d.op === 'insert')
				.map((d) => d.text)
				.join('')
		).toContain('80%');
	});

	it('head office acknowledges, requests an update and asks a question: timeline entries and notifications reach the war room', async () => {
		ctx.setNow(new Date('2026-11-22T04:00:00Z'));
		const inc = await incidentWithGroup('柜面系统中断');
		const draft = must(await draftCommunication(ctx, comms.actor, { incidentId: inc.id, kind: 'head_office_report' }));
		must(await submitCommunication(ctx, comms.actor, { id: draft.id }));
		must(await approveCommunication(ctx, manager.actor, { id: draft.id }));

		const inbox = must(await listInbox(ctx, exec.actor));
		expect(inbox.mayAck).toBe(true);
		const item = inbox.items.find((i) => i.report.id === draft.id);
		expect(item?.acked).toBe(false);
		expect(inbox.items.findIndex((i) => i.report.id === draft.id)).toBe(0);

		expect(failure(await acknowledgeReport(ctx, responder.actor, { id: draft.id })).code).toBe('forbidden');
		expect(failure(await acknowledgeReport(ctx, manager.actor, { id: draft.id })).params?.reason).toBe('not_head_office');
		notices.length = 0;
		const ack = must(await acknowledgeReport(ctx, exec.actor, { id: draft.id }));
		expect(ack.first).toBe(true);
		expect(must(await acknowledgeReport(ctx, exec.actor, { id: draft.id })).first).toBe(false);
		const ackNotice = notices.filter((n) => n.event === 'report.acknowledged');
		expect(ackNotice).toHaveLength(1);
		expect(ackNotice[0]!.recipients.sort()).toEqual([manager.id, deputy.id, comms.id].sort());
		expect(entries.some((e) => e.incidentId === inc.id && e.entry.kind === 'escalation' && e.entry.text.en.includes('Liu Wei'))).toBe(true);

		const reqd = must(await requestUpdate(ctx, exec.actor, { communicationId: draft.id, kind: 'update', text: 'Branch count?' }));
		expect(reqd.kind).toBe('update');
		expect(failure(await requestUpdate(ctx, exec.actor, { incidentId: inc.id, kind: 'question', text: '' })).code).toBe('invalid');
		must(await requestUpdate(ctx, exec.actor, { incidentId: inc.id, kind: 'question', text: 'Are ATMs affected?' }));
		// Access comes before the input: an outsider of a restricted incident gets the not-found, whatever the kind.
		const secret = must(
			await declareIncident(ctx, manager.actor, {
				title: 'Restricted request target',
				description: 'x',
				impact: 'extensive',
				urgency: 'high',
				restricted: true
			})
		).incident;
		for (const kind of ['not-a-kind', 'update'])
			expect(failure(await requestUpdate(ctx, responder.actor, { incidentId: secret.id, kind, text: 'x' })).code).toBe('not_found');
		expect(notices.filter((n) => n.event === 'report.update_requested' || n.event === 'report.question')).toHaveLength(2);
		expect(entries.some((e) => e.incidentId === inc.id && e.entry.pinned && e.entry.text.en.includes('Are ATMs affected?'))).toBe(true);

		// The next report that goes out answers the open requests.
		const next = must(await draftCommunication(ctx, comms.actor, { incidentId: inc.id, kind: 'head_office_report' }));
		must(await submitCommunication(ctx, comms.actor, { id: next.id }));
		must(await approveCommunication(ctx, manager.actor, { id: next.id }));
		const listed = must(await listCommunications(ctx, manager.actor, { incidentId: inc.id }));
		expect(listed.requests.every((r) => r.answeredAt !== null)).toBe(true);
		const inbox2 = must(await listInbox(ctx, exec.actor));
		expect(inbox2.items.find((i) => i.report.id === draft.id)?.ackedByMe).toBe(true);
	});

	it('status updates use the same approval and reset the next-update clock; the board gets the last approved line', async () => {
		ctx.setNow(new Date('2026-11-22T05:00:00Z'));
		const inc = await incidentWithGroup('短信通知延迟');
		const before = must(await getClocks(ctx, manager.actor, { incidentId: inc.id }));
		const nextBefore = before.clocks.find((c) => c.kind === 'next_update_due')!;
		expect(nextBefore.dueAt.toISOString()).toBe('2026-11-22T05:30:00.000Z');
		expect(before.mustEscalateToHeadOffice).toBe(true);

		ctx.setNow(new Date('2026-11-22T05:20:00Z'));
		const su = must(await draftCommunication(ctx, comms.actor, { incidentId: inc.id, kind: 'status_update' }));
		expect(su.content.text.headline?.en).toContain(inc.number);
		must(await submitCommunication(ctx, comms.actor, { id: su.id }));
		must(await approveCommunication(ctx, deputy.actor, { id: su.id }));
		const after = must(await getClocks(ctx, manager.actor, { incidentId: inc.id }));
		expect(after.clocks.find((c) => c.kind === 'next_update_due')!.dueAt.toISOString()).toBe('2026-11-22T05:50:00.000Z');
		const lines = await lastApprovedStatusLines(ctx, [inc.id]);
		expect(lines.get(inc.id)?.headline.en).toContain(inc.number);
		// Status updates never reach the head-office inbox.
		expect(must(await listInbox(ctx, exec.actor)).items.some((i) => i.report.id === su.id)).toBe(false);
	});

	it('the initial report comes first and the final one only once the incident is resolved', async () => {
		ctx.setNow(new Date('2026-11-22T06:00:00Z'));
		const inc = await incidentWithGroup('ATM 取款失败');
		const early = await draftCommunication(ctx, comms.actor, { incidentId: inc.id, kind: 'head_office_report', reportKind: 'final' });
		expect(failure(early).errors?.[0]?.field).toBe('reportKind');
		const initial = must(await draftCommunication(ctx, comms.actor, { incidentId: inc.id, kind: 'head_office_report' }));
		must(await submitCommunication(ctx, comms.actor, { id: initial.id }));
		must(await approveCommunication(ctx, manager.actor, { id: initial.id }));
		const tooSoon = await draftCommunication(ctx, comms.actor, { incidentId: inc.id, kind: 'head_office_report', reportKind: 'final' });
		expect(failure(tooSoon).errors?.[0]?.field).toBe('reportKind');
		must(await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'resolved' }));
		const final = must(await draftCommunication(ctx, comms.actor, { incidentId: inc.id, kind: 'head_office_report' }));
		expect(final.reportKind).toBe('final');
	});

	it('the admin edits the policy with per-field validation', async () => {
		const bad = await savePolicy(ctx, admin.actor, { rules: { headOfficeReportMinutes: { P1: -5 }, nonsense: 1 } });
		expect(failure(bad).code).toBe('invalid');
		expect(failure(await savePolicy(ctx, manager.actor, { rules: {} })).code).toBe('forbidden');
		const saved = must(
			await savePolicy(ctx, admin.actor, { rules: { headOfficeReportMinutes: { P1: 20, P2: 90 }, warningLeadMinutes: 3 } })
		);
		expect(saved.headOfficeReportMinutes.P1).toBe(20);
		expect(saved.headOfficeAckMinutes).toBe(15);
		expect((await getPolicy(ctx)).policy.warningLeadMinutes).toBe(3);
		must(await savePolicy(ctx, admin.actor, { rules: {} }));
	});
});
