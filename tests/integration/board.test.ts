import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SYSTEM_ACTOR, type NotifyInput, type SystemEntry } from '../../src/lib/server/context';
import {
	createShareLink,
	getBoard,
	getSharedBoard,
	listShareLinks,
	requestUpdate,
	resolveShareLink,
	revokeShareLink,
	type BoardData
} from '../../src/lib/server/services/board.service';
import { saveService } from '../../src/lib/server/services/catalogue.service';
import {
	approveCommunication,
	draftCommunication,
	editCommunication,
	submitCommunication
} from '../../src/lib/server/services/escalation.service';
import { changeStatus, declareIncident } from '../../src/lib/server/services/incident.service';
import { addMember } from '../../src/lib/server/services/membership.service';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';

type User = Awaited<ReturnType<typeof makeUser>>;

let ctx: TestContext;
let admin: User, manager: User, member: User, outsider: User, exec: User, commsLead: User;
let p1: string, restricted: string, drill: string, resolved: string;
const T0 = new Date('2026-11-20T02:00:00Z');
const entries: { incidentId: string; entry: SystemEntry }[] = [];
const notices: NotifyInput[] = [];

function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
	return r.value;
}

const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

/**
 * A status update row in a given state, written directly (for states the approval flow would not leave
 * side by side), then the event the escalation service publishes after every change.
 */
async function statusUpdate(opts: {
	incidentId: string;
	state: 'draft' | 'submitted' | 'returned' | 'approved' | 'sent';
	line: string;
	at: Date;
}) {
	const approved = opts.state === 'approved' || opts.state === 'sent';
	await ctx.db
		.insertInto('communications')
		.values({
			id: crypto.randomUUID(),
			incident_id: opts.incidentId,
			kind: 'status_update',
			report_kind: null,
			state: opts.state,
			content: JSON.stringify({ facts: {}, text: { headline: { 'zh-CN': `【中】${opts.line}`, en: opts.line } } }),
			drafted_by: commsLead.id,
			approved_by: approved ? manager.id : null,
			approved_at: approved ? opts.at : null,
			sent_at: opts.state === 'sent' ? opts.at : null,
			created_at: opts.at,
			updated_at: opts.at
		})
		.execute();
	ctx.events.publish({ type: 'incident.changed', incidentId: opts.incidentId, what: 'communication' });
}

/** Through the escalation feature's approval machine: the communications lead drafts, the manager approves. */
async function approvedUpdate(incidentId: string, headline: string, opts: { approve?: boolean } = {}) {
	const draft = must(await draftCommunication(ctx, commsLead.actor, { incidentId, kind: 'status_update' }));
	const edited = must(
		await editCommunication(ctx, commsLead.actor, {
			id: draft.id,
			text: { headline: { 'zh-CN': `【中】${headline}`, en: headline }, body: { 'zh-CN': '正文', en: 'Body' } }
		})
	);
	if (opts.approve === false) return edited;
	must(await submitCommunication(ctx, commsLead.actor, { id: draft.id }));
	return must(await approveCommunication(ctx, manager.actor, { id: draft.id }));
}

const ids = (b: BoardData) => b.incidents.map((i) => i.id);

beforeAll(async () => {
	ctx = await createTestContext();
	ctx.setNow(T0);
	ctx.collab = {
		appendSystemEntry: async (incidentId, entry) => void entries.push({ incidentId, entry }),
		transact: async () => undefined,
		// An empty shared document: the drafts are prefilled from the incident's facts only.
		read: async (_incidentId, fn) => fn(new Y.Doc())
	};
	ctx.notify = { send: async (n) => void notices.push(n) };
	const svc = async (code: string, name: string, regions: string[]) =>
		must(await saveService(ctx, SYSTEM_ACTOR, { input: { code, nameZh: name, nameEn: name, criticality: 'critical', regions } })).id;
	// Three services in two regions; incidents refer to them by code.
	await svc('CORE-BANKING', 'Core banking', ['east']);
	await svc('PAYMENTS', 'Payments', ['east']);
	await svc('CARDS', 'Cards', ['west']);
	admin = await makeUser(ctx, { role: 'admin' });
	manager = await makeUser(ctx, { role: 'manager', displayName: 'Wang Li' });
	member = await makeUser(ctx, { role: 'responder' });
	commsLead = await makeUser(ctx, { role: 'responder', displayName: 'Comms Lead' });
	outsider = await makeUser(ctx, { role: 'responder' });
	exec = await makeUser(ctx, { role: 'viewer', displayName: 'Liu Wei' });

	const declare = async (input: Record<string, unknown>) => must(await declareIncident(ctx, manager.actor, input)).incident.id;
	p1 = await declare({ title: 'Core banking down', impact: 'extensive', urgency: 'critical', services: ['CORE-BANKING'] });
	must(await addMember(ctx, manager.actor, { incidentId: p1, userId: commsLead.id, role: 'communications_lead' }));
	restricted = await declare({
		title: 'Suspected fraud on payments',
		impact: 'extensive',
		urgency: 'critical',
		services: ['PAYMENTS'],
		restricted: true
	});
	must(await addMember(ctx, manager.actor, { incidentId: restricted, userId: member.id, role: 'technical_lead' }));
	drill = await declare({ title: 'Quarterly failover drill', impact: 'extensive', urgency: 'critical', services: ['CARDS'], drill: true });
	resolved = await declare({ title: 'Cards slow', impact: 'moderate', urgency: 'high', services: ['CARDS'] });
	ctx.setNow(minutes(45));
	must(await changeStatus(ctx, manager.actor, { incidentId: resolved, to: 'resolved' }));
	ctx.setNow(minutes(5));
});

afterAll(async () => {
	await ctx?.close();
});

describe(`the status board (${dbLabel})`, () => {
	it('shows a viewer every active non-restricted incident, drills apart, and never a restricted one', async () => {
		const board = must(await getBoard(ctx, exec.actor));
		expect(ids(board)).toEqual([p1]);
		expect(board.drills.map((d) => d.id)).toEqual([drill]);
		expect(JSON.stringify(board)).not.toContain('Suspected fraud');
		const outsiderBoard = must(await getBoard(ctx, outsider.actor));
		expect(ids(outsiderBoard)).not.toContain(restricted);
	});

	it('shows a restricted incident to its members and to admins', async () => {
		expect(ids(must(await getBoard(ctx, member.actor)))).toEqual(expect.arrayContaining([p1, restricted]));
		expect(ids(must(await getBoard(ctx, admin.actor)))).toEqual(expect.arrayContaining([p1, restricted]));
	});

	it('derives service health from the incidents the user may see; drills never turn it red', async () => {
		const health = (b: BoardData) => Object.fromEntries(b.health.map((h) => [h.code, h.health]));
		expect(health(must(await getBoard(ctx, exec.actor)))).toEqual({
			'CORE-BANKING': 'outage',
			PAYMENTS: 'operational',
			CARDS: 'operational'
		});
		expect(health(must(await getBoard(ctx, member.actor)))).toMatchObject({ PAYMENTS: 'outage', CARDS: 'operational' });
	});

	it('shows the incident manager, the duration start, and that head office must be told of a P1', async () => {
		const [i] = must(await getBoard(ctx, exec.actor)).incidents;
		expect(i).toMatchObject({
			number: expect.stringMatching(/^INC-/),
			priority: 'P1',
			status: 'investigating',
			incidentManager: 'Wang Li'
		});
		expect(i!.services.map((s) => s.code)).toEqual(['CORE-BANKING']);
		expect(i!.headOffice).toMatchObject({ required: true, level: 'regional', reportsSent: 0 });
		expect(i!.startedAt.getTime()).toBe(T0.getTime());
	});

	it('shows only the last approved status line — never a draft, submitted or returned update', async () => {
		expect(must(await getBoard(ctx, exec.actor)).incidents[0]!.lastApproved).toBeNull();
		ctx.setNow(minutes(10));
		await approvedUpdate(p1, 'Failover to the standby site started');
		ctx.setNow(minutes(20));
		await approvedUpdate(p1, 'Service restored for 80% of branches');
		ctx.setNow(minutes(25));
		await approvedUpdate(p1, 'DRAFT root cause: bad patch', { approve: false });
		ctx.setNow(minutes(5));
		await statusUpdate({ incidentId: restricted, state: 'approved', line: 'Approved, not yet sent', at: minutes(3) });
		await statusUpdate({ incidentId: drill, state: 'submitted', line: 'SUBMITTED speculation', at: minutes(26) });
		const board = must(await getBoard(ctx, exec.actor));
		const line = board.incidents[0]!.lastApproved;
		expect(line?.line.en).toBe('Service restored for 80% of branches');
		expect(line?.line['zh-CN']).toBe('【中】Service restored for 80% of branches');
		expect(JSON.stringify(board)).not.toMatch(/DRAFT|SUBMITTED/);
		expect(board.drills[0]!.lastApproved).toBeNull();
		const memberBoard = must(await getBoard(ctx, member.actor));
		expect(memberBoard.incidents.find((i) => i.id === restricted)?.lastApproved?.line.en).toBe('Approved, not yet sent');
	});

	it('puts the next update one interval after the last approved update (P1: 30 min)', async () => {
		const [i] = must(await getBoard(ctx, exec.actor)).incidents;
		expect(i!.nextUpdateDueAt?.toISOString()).toBe(minutes(50).toISOString());
	});

	it('counts history with drills apart, MTTR from resolved incidents, and per week', async () => {
		const { history } = must(await getBoard(ctx, exec.actor, { window: '90' }));
		expect(history.windowDays).toBe(90);
		expect(history.service.count).toBe(2);
		expect(history.service.byPriority.P1).toBe(1);
		expect(history.drills.count).toBe(1);
		expect(history.service.mttr).toEqual({ meanMs: 45 * 60_000, samples: 1 });
		expect(history.service.byService.map((s) => [s.code, s.count])).toEqual([
			['CARDS', 1],
			['CORE-BANKING', 1]
		]);
		expect(history.trend.length).toBe(13);
		expect(history.trend.reduce((a, p) => a + p.count, 0)).toBe(2);
		expect(history.sla.report_due.pending + history.sla.report_due.met + history.sla.report_due.breached).toBeGreaterThan(0);
		const member90 = must(await getBoard(ctx, member.actor, { window: 90 })).history;
		expect(member90.service.count).toBe(3);
	});

	it('falls back to 30 days for an unknown window', async () => {
		expect(must(await getBoard(ctx, exec.actor, { window: '7' })).history.windowDays).toBe(30);
	});
});

describe(`overdue action items on the board (${dbLabel})`, () => {
	it('lists overdue follow-ups of incidents the viewer may see, never of restricted ones to outsiders', async () => {
		const { createActionItem } = await import('../../src/lib/server/services/action-item.service');
		const open = must(
			await createActionItem(ctx, manager.actor, {
				incidentId: p1,
				input: { title: 'Add a disk-usage alert at 80%', type: 'detective', ownerId: member.id, dueDate: '2026-11-01' }
			})
		);
		const secret = must(
			await createActionItem(ctx, manager.actor, {
				incidentId: restricted,
				input: { title: 'Rotate the fraud-engine keys', type: 'corrective', ownerId: member.id, dueDate: '2026-11-02' }
			})
		);
		must(
			await createActionItem(ctx, manager.actor, {
				incidentId: p1,
				input: { title: 'Not due yet', type: 'preventive', ownerId: member.id, dueDate: '2099-01-01' }
			})
		);
		const forExec = must(await getBoard(ctx, exec.actor)).overdueActions.map((a) => a.id);
		expect(forExec).toContain(open.id);
		expect(forExec).not.toContain(secret.id);
		const forMember = must(await getBoard(ctx, member.actor)).overdueActions.map((a) => a.id);
		expect(forMember).toEqual(expect.arrayContaining([open.id, secret.id]));
		expect(must(await getBoard(ctx, member.actor)).overdueActions.map((a) => a.title)).not.toContain('Not due yet');
	});
});

describe(`requesting an update (${dbLabel})`, () => {
	it('records the request, notifies the communications lead and the incident manager, and writes the timeline', async () => {
		notices.length = 0;
		entries.length = 0;
		const out = must(await requestUpdate(ctx, exec.actor, { incidentId: p1, text: 'Board meeting at 11:00 — ETA?' }));
		expect(out.created).toBe(true);
		expect(notices).toHaveLength(1);
		expect(new Set(notices[0]!.recipients)).toEqual(new Set([manager.id, commsLead.id]));
		expect(notices[0]!.event).toBe('report.update_requested');
		expect(notices[0]!.body.en).toContain('Board meeting at 11:00');
		expect(entries).toHaveLength(1);
		// The escalation feature's request: pinned on the timeline so the war room does not miss it.
		expect(entries[0]).toMatchObject({ incidentId: p1, entry: { kind: 'escalation', pinned: true } });
		expect(entries[0]!.entry.text.en).toContain('Liu Wei');
		const rows = await ctx.db.selectFrom('update_requests').selectAll().where('incident_id', '=', p1).execute();
		expect(rows).toHaveLength(1);
		expect(must(await getBoard(ctx, exec.actor)).incidents[0]!.openRequests).toBe(1);
	});

	it('tells open boards as soon as a request is committed, from the board or from the war room, before the timeline entry', async () => {
		const heard: string[] = [];
		const off = ctx.events.subscribe((e) => {
			if (e.type === 'board.changed' && e.incidentId === p1) heard.push(`board:${entries.length}`);
		});
		try {
			entries.length = 0;
			const { requestUpdate: escalationRequest } = await import('../../src/lib/server/services/escalation.service');
			must(
				await escalationRequest(ctx, manager.actor, { incidentId: p1, kind: 'question', text: 'From the war room: is the DR site up?' })
			);
		} finally {
			off();
		}
		// One board event, published before the timeline entry was written (entries was still empty).
		expect(heard).toEqual(['board:0']);
		expect(entries).toHaveLength(1);
	});

	it('does not notify again when the same person clicks twice', async () => {
		notices.length = 0;
		const out = must(await requestUpdate(ctx, exec.actor, { incidentId: p1 }));
		expect(out.created).toBe(false);
		expect(notices).toHaveLength(0);
	});

	it('refuses a restricted incident to outsiders as not found, an inactive one, and overlong text', async () => {
		const hidden = await requestUpdate(ctx, outsider.actor, { incidentId: restricted });
		expect(hidden.ok || hidden.error.code).toBe('not_found');
		const done = await requestUpdate(ctx, exec.actor, { incidentId: resolved });
		expect(done.ok || done.error.code).toBe('not_active');
		const long = await requestUpdate(ctx, outsider.actor, { incidentId: p1, text: 'x'.repeat(2001) });
		expect(long.ok || long.error.code).toBe('invalid');
	});
});

describe(`share links (${dbLabel})`, () => {
	it('are created by managers and admins only, with a bounded expiry', async () => {
		const denied = await createShareLink(ctx, exec.actor, { label: 'Regulator' });
		expect(denied.ok || denied.error.code).toBe('forbidden');
		const bad = await createShareLink(ctx, manager.actor, { label: '', expiresInHours: '9999' });
		expect(bad.ok).toBe(false);
		if (!bad.ok && 'errors' in bad.error) expect(bad.error.errors.map((e) => e.field).sort()).toEqual(['expiresInHours', 'label']);
	});

	it('show the same approved content and never a restricted incident, even when an admin made the link', async () => {
		const { token } = must(await createShareLink(ctx, admin.actor, { label: 'Regulator liaison', expiresInHours: 2 }));
		const shared = must(await getSharedBoard(ctx, token, { window: 90 }));
		expect(shared.link.label).toBe('Regulator liaison');
		expect(ids(shared.board)).toEqual([p1]);
		expect(shared.board.incidents[0]!.lastApproved?.line.en).toBe('Service restored for 80% of branches');
		expect(shared.board.incidents[0]!.canRequestUpdate).toBe(false);
		expect(JSON.stringify(shared.board)).not.toContain(restricted);
		expect(shared.board.health.find((h) => h.code === 'PAYMENTS')?.health).toBe('operational');
		expect(shared.board.history.service.count).toBe(2);
	});

	it('stop working when revoked or expired, and reject malformed or forged tokens', async () => {
		const a = must(await createShareLink(ctx, manager.actor, { label: 'CEO office', expiresInHours: 1 }));
		must(await resolveShareLink(ctx, a.token));
		must(await revokeShareLink(ctx, manager.actor, { id: a.link.id }));
		expect((await resolveShareLink(ctx, a.token)).ok).toBe(false);
		expect((await getSharedBoard(ctx, a.token)).ok).toBe(false);

		const b = must(await createShareLink(ctx, manager.actor, { label: 'Branch heads', expiresInHours: 1 }));
		ctx.setNow(new Date(minutes(5).getTime() + 60 * 60_000 + 1));
		const expired = await resolveShareLink(ctx, b.token);
		expect(expired.ok || expired.error.code).toBe('not_found');
		ctx.setNow(minutes(5));

		const forged = `${b.token.split('.')[0]}.${'a'.repeat(24)}`;
		expect((await resolveShareLink(ctx, forged)).ok).toBe(false);
		expect((await resolveShareLink(ctx, 'not-a-token')).ok).toBe(false);
		expect((await resolveShareLink(ctx, undefined)).ok).toBe(false);

		const list = must(await listShareLinks(ctx, manager.actor));
		expect(list.find((l) => l.id === a.link.id)?.state).toBe('revoked');
		expect((await listShareLinks(ctx, exec.actor)).ok).toBe(false);
		const again = await revokeShareLink(ctx, manager.actor, { id: 'nope' });
		expect(again.ok || again.error.code).toBe('not_found');
	});
});
