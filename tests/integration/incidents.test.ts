import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEvent } from '../../src/lib/server/events';
import { SYSTEM_ACTOR, type NotifyInput, type SystemEntry } from '../../src/lib/server/context';
import { verifyChain } from '../../src/lib/server/services/audit.service';
import { saveOrgUnit, saveService } from '../../src/lib/server/services/catalogue.service';
import {
	acceptProposal,
	changePriority,
	changeStatus,
	closeIncident,
	declareIncident,
	editIncident,
	getIncident,
	listIncidents,
	proposeIncident,
	rejectProposal,
	reopenIncident,
	roomAccess,
	roomPolicy
} from '../../src/lib/server/services/incident.service';
import {
	acknowledgePage,
	addMember,
	addOrgUnit,
	changeMemberRole,
	handOver,
	listUnacknowledged,
	pageMembers,
	removeMember
} from '../../src/lib/server/services/membership.service';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';
import { countingDb } from '../helpers/queries';

type User = Awaited<ReturnType<typeof makeUser>>;

let ctx: TestContext;
let admin: User, manager: User, manager2: User, responder: User, responder2: User, outsider: User, exec: User;
let coreBanking: string, payments: string;
let teamId: string;
const entries: { incidentId: string; entry: SystemEntry }[] = [];
const notices: NotifyInput[] = [];
const events: AppEvent[] = [];

function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
	return r.value;
}

const base = { title: '核心银行系统响应缓慢', description: 'Core banking answers in 8 s', impact: 'extensive', urgency: 'high' };

beforeAll(async () => {
	ctx = await createTestContext();
	ctx.collab = {
		appendSystemEntry: async (incidentId, entry) => void entries.push({ incidentId, entry }),
		transact: async () => undefined,
		read: async () => undefined as never
	};
	ctx.notify = { send: async (n) => void notices.push(n) };
	ctx.events.subscribe((e) => events.push(e));
	const hq = must(await saveOrgUnit(ctx, SYSTEM_ACTOR, { input: { code: 'HQ', nameZh: '总部', nameEn: 'HQ', kind: 'head_office' } }));
	const team = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, {
			input: { code: 'EAST-DB', nameZh: '数据库组', nameEn: 'DB team', kind: 'team', parentId: hq.id }
		})
	);
	teamId = team.id;
	coreBanking = must(
		await saveService(ctx, SYSTEM_ACTOR, {
			input: { code: 'CORE-BANKING', nameZh: '核心银行系统', nameEn: 'Core banking', criticality: 'critical' }
		})
	).id;
	payments = must(
		await saveService(ctx, SYSTEM_ACTOR, { input: { code: 'PAYMENTS', nameZh: '支付系统', nameEn: 'Payments', criticality: 'critical' } })
	).id;
	admin = await makeUser(ctx, { role: 'admin', displayName: 'Admin' });
	manager = await makeUser(ctx, { role: 'manager', displayName: 'Wang Li' });
	manager2 = await makeUser(ctx, { role: 'manager', displayName: 'Chen Jing' });
	responder = await makeUser(ctx, { role: 'responder', displayName: 'Li Qiang', orgUnitId: team.id });
	responder2 = await makeUser(ctx, { role: 'responder', displayName: 'Zhao Min', orgUnitId: team.id });
	outsider = await makeUser(ctx, { role: 'responder', displayName: 'Outsider' });
	exec = await makeUser(ctx, { role: 'viewer', displayName: 'Liu Wei', orgUnitId: team.id });
});

afterAll(async () => {
	await ctx?.close();
});

describe(`incidents on ${dbLabel}`, () => {
	it('a responder proposes, a manager accepts, forms the group, pages, and the first acknowledgement sets first_acked_at', async () => {
		ctx.setNow(new Date('2026-11-22T01:00:00Z'));
		const proposed = must(await proposeIncident(ctx, responder.actor, { ...base, services: [coreBanking, 'payments'] }));
		expect(proposed.created).toBe(true);
		const inc = proposed.incident;
		expect(inc.status).toBe('proposed');
		expect(inc.priority).toBe('P1');
		expect(inc.number).toBe('INC-20261122-0001');
		expect(inc.services.map((s) => s.code)).toEqual(['CORE-BANKING', 'PAYMENTS']);
		expect(inc.proposedBy?.userId).toBe(responder.id);
		expect(inc.me.role).toBe('responder');
		expect(inc.allowed.accept_proposal).toBe(false);
		expect(notices.some((n) => n.event === 'incident.proposed' && n.recipients.includes(manager.id))).toBe(true);

		// The responder cannot accept their own proposal.
		const denied = await acceptProposal(ctx, responder.actor, { incidentId: inc.id });
		expect(!denied.ok && denied.error.code).toBe('forbidden');

		ctx.setNow(new Date('2026-11-22T01:05:00Z'));
		const accepted = must(await acceptProposal(ctx, manager.actor, { incidentId: inc.id, expectedVersion: inc.version }));
		expect(accepted.status).toBe('investigating');
		expect(accepted.times.declaredAt?.toISOString()).toBe('2026-11-22T01:05:00.000Z');
		expect(accepted.declaredBy?.userId).toBe(manager.id);
		expect(accepted.incidentManager?.userId).toBe(manager.id);

		must(await addMember(ctx, manager.actor, { incidentId: inc.id, userId: responder2.id, role: 'technical_lead' }));
		must(await changeMemberRole(ctx, manager.actor, { incidentId: inc.id, userId: responder.id, role: 'technical_lead' }));
		const obs = must(await addMember(ctx, manager.actor, { incidentId: inc.id, userId: exec.id, role: 'observer' }));
		expect(obs.pagedAt).toBeNull();
		// A viewer can only observe.
		const viewerLead = await changeMemberRole(ctx, manager.actor, { incidentId: inc.id, userId: exec.id, role: 'technical_lead' });
		expect(!viewerLead.ok && viewerLead.error.code).toBe('invalid');

		ctx.setNow(new Date('2026-11-22T01:06:00Z'));
		const paged = must(await pageMembers(ctx, manager.actor, { incidentId: inc.id }));
		// The proposer acknowledged by proposing; the manager by taking command; the observer was never paged.
		expect(paged.map((m) => m.userId).sort()).toEqual([responder2.id, exec.id].sort());
		const waiting = must(await listUnacknowledged(ctx, manager.actor, { incidentId: inc.id }));
		expect(waiting.map((m) => m.userId).sort()).toEqual([responder2.id, exec.id].sort());
		expect(notices.some((n) => n.event === 'member.paged' && n.recipients[0] === responder2.id)).toBe(true);

		ctx.setNow(new Date('2026-11-22T01:09:00Z'));
		const ack = must(await acknowledgePage(ctx, responder2.actor, { incidentId: inc.id }));
		expect(ack).toMatchObject({ first: true, incidentFirstAck: true });
		ctx.setNow(new Date('2026-11-22T01:10:00Z'));
		const ack2 = must(await acknowledgePage(ctx, exec.actor, { incidentId: inc.id }));
		expect(ack2.incidentFirstAck).toBe(false);
		const again = must(await acknowledgePage(ctx, responder2.actor, { incidentId: inc.id }));
		expect(again.first).toBe(false);

		const view = must(await getIncident(ctx, manager.actor, inc.id));
		expect(view.times.firstAckedAt?.toISOString()).toBe('2026-11-22T01:09:00.000Z');
		expect(view.unacknowledged).toEqual([]);
		const lead = view.members.find((m) => m.userId === responder2.id)!;
		expect(lead).toMatchObject({ role: 'technical_lead', displayName: 'Zhao Min', phone: '+86 10 1234 5678', awaitingAck: false });
		expect(lead.email).toContain('@example.test');
		expect(view.members[0]!.role).toBe('incident_manager');
		// The acknowledgement is not an edit: the version did not move.
		expect(view.version).toBe(accepted.version);
		expect(entries.some((e) => e.incidentId === inc.id && e.entry.text.en.includes('acknowledged'))).toBe(true);
		expect(events.some((e) => e.type === 'membership.changed' && e.userId === responder2.id)).toBe(true);
	});

	it('rejecting a proposal needs a reason, and a rejected incident is final', async () => {
		const inc = must(
			await proposeIncident(ctx, responder.actor, { ...base, title: 'Printer on fire', impact: 'minor', urgency: 'low' })
		).incident;
		expect(inc.priority).toBe('P5');
		const noReason = await rejectProposal(ctx, manager.actor, { incidentId: inc.id, reason: '  ' });
		expect(!noReason.ok && noReason.error).toMatchObject({ code: 'reason_required', field: 'reason' });
		const rejected = must(await rejectProposal(ctx, manager.actor, { incidentId: inc.id, reason: 'Not a major incident: one printer' }));
		expect(rejected.status).toBe('rejected');
		expect(rejected.rejectedReason).toBe('Not a major incident: one printer');
		const again = await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'investigating' });
		expect(!again.ok && again.error.code).toBe('illegal_transition');
		expect(!again.ok && again.error.message).toContain('rejected is final');
	});

	it('refuses an illegal status change with a clear message and walks the legal path to closed and back', async () => {
		const inc = must(await declareIncident(ctx, manager.actor, { ...base, title: 'Payments timeouts', services: ['PAYMENTS'] })).incident;
		expect(inc.status).toBe('investigating');
		expect(inc.incidentManager?.userId).toBe(manager.id);
		expect(inc.nextStatuses).toEqual(['identified', 'mitigated', 'resolved']);
		const bad = await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'closed' });
		expect(!bad.ok && bad.error).toMatchObject({
			code: 'illegal_transition',
			message: 'Cannot move an incident from investigating to closed (allowed: identified, mitigated, resolved)'
		});
		const unknown = await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'done' });
		expect(!unknown.ok && unknown.error.code).toBe('invalid');

		// A responder who is not in the group may not change the status.
		const outsiderTry = await changeStatus(ctx, outsider.actor, { incidentId: inc.id, to: 'identified' });
		expect(!outsiderTry.ok && outsiderTry.error.code).toBe('forbidden');

		ctx.setNow(new Date('2026-11-22T02:00:00Z'));
		const mitigated = must(await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'mitigated' }));
		expect(mitigated.times.mitigatedAt?.toISOString()).toBe('2026-11-22T02:00:00.000Z');
		// A stale version is a conflict, not a silent overwrite.
		const stale = await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'resolved', expectedVersion: inc.version });
		expect(!stale.ok && stale.error.code).toBe('conflict');
		ctx.setNow(new Date('2026-11-22T02:30:00Z'));
		const resolved = must(
			await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'resolved', expectedVersion: mitigated.version })
		);
		expect(resolved.times.resolvedAt?.toISOString()).toBe('2026-11-22T02:30:00.000Z');

		// Closing needs the waiver reason (no review yet), and a technical lead may not waive.
		must(await addMember(ctx, manager.actor, { incidentId: inc.id, userId: responder.id, role: 'technical_lead' }));
		const leadClose = await closeIncident(ctx, responder.actor, { incidentId: inc.id, waiverReason: 'x' });
		expect(!leadClose.ok && leadClose.error.code).toBe('forbidden');
		const noWaiver = await closeIncident(ctx, manager.actor, { incidentId: inc.id, waiverReason: '' });
		expect(!noWaiver.ok && noWaiver.error.code).toBe('review_required');
		const closed = must(await closeIncident(ctx, manager.actor, { incidentId: inc.id, waiverReason: 'Vendor RCA covers it' }));
		expect(closed).toMatchObject({ status: 'closed', closeReason: 'Vendor RCA covers it', reviewWaived: true });

		const noReason = await reopenIncident(ctx, manager.actor, { incidentId: inc.id, reason: '' });
		expect(!noReason.ok && noReason.error.code).toBe('reason_required');
		const reopened = must(await reopenIncident(ctx, manager.actor, { incidentId: inc.id, reason: 'Timeouts are back' }));
		expect(reopened.status).toBe('investigating');
		expect(reopened.times.resolvedAt).toBeNull();
		expect(reopened.times.closedAt).toBeNull();
		expect(reopened.closeReason).toBeNull();
		expect(reopened.times.reopenedAt).not.toBeNull();
	});

	it('records a priority change with its reason in the audit log and on the timeline', async () => {
		const inc = must(await declareIncident(ctx, manager.actor, { ...base, impact: 'moderate', urgency: 'medium' })).incident;
		expect(inc.priority).toBe('P4');
		must(await addMember(ctx, manager.actor, { incidentId: inc.id, userId: responder.id, role: 'communications_lead' }));
		const noReason = await changePriority(ctx, manager.actor, { incidentId: inc.id, impact: 'extensive', reason: '' });
		expect(!noReason.ok && noReason.error.code).toBe('invalid');
		const badValue = await changePriority(ctx, manager.actor, { incidentId: inc.id, impact: 'huge', reason: 'x' });
		expect(!badValue.ok && 'errors' in badValue.error && badValue.error.errors[0]?.field).toBe('impact');
		const changed = must(
			await changePriority(ctx, manager.actor, {
				incidentId: inc.id,
				impact: 'extensive',
				urgency: 'critical',
				reason: 'All branches affected'
			})
		);
		expect(changed.priority).toBe('P1');
		const rows = await ctx.db
			.selectFrom('audit_events')
			.selectAll()
			.where('subject_id', '=', inc.id)
			.where('action', '=', 'incident.priority_change')
			.execute();
		expect(rows).toHaveLength(1);
		expect(rows[0]!.before).toMatchObject({ priority: 'P4' });
		expect(rows[0]!.after).toMatchObject({ priority: 'P1', reason: 'All branches affected' });
		expect(
			entries.some((e) => e.incidentId === inc.id && e.entry.kind === 'decision' && e.entry.text['zh-CN'].includes('P4 调整为 P1'))
		).toBe(true);
		expect(notices.some((n) => n.event === 'incident.priority_changed' && n.incidentId === inc.id)).toBe(true);
	});

	it('hand-over keeps exactly one incident manager, with the previous one as deputy or gone', async () => {
		const inc = must(await declareIncident(ctx, manager.actor, { ...base, title: 'Hand-over drill', drill: true })).incident;
		const twoManagers = await addMember(ctx, manager.actor, { incidentId: inc.id, userId: manager2.id, role: 'incident_manager' });
		expect(!twoManagers.ok && twoManagers.error.code).toBe('conflict');
		ctx.setNow(new Date('2026-11-22T03:00:00Z'));
		must(await handOver(ctx, manager.actor, { incidentId: inc.id, toUserId: manager2.id }));
		let view = must(await getIncident(ctx, manager.actor, inc.id));
		expect(view.members.filter((m) => m.role === 'incident_manager').map((m) => m.userId)).toEqual([manager2.id]);
		expect(view.members.find((m) => m.userId === manager.id)?.role).toBe('deputy');
		// The new manager was put in command by someone else: they are paged.
		expect(view.incidentManager?.pagedAt?.toISOString()).toBe('2026-11-22T03:00:00.000Z');

		must(await handOver(ctx, manager2.actor, { incidentId: inc.id, toUserId: responder.id, previous: 'leave' }));
		view = must(await getIncident(ctx, manager.actor, inc.id));
		expect(view.members.filter((m) => m.role === 'incident_manager').map((m) => m.userId)).toEqual([responder.id]);
		expect(view.members.some((m) => m.userId === manager2.id)).toBe(false);
		const removeIm = await removeMember(ctx, manager.actor, { incidentId: inc.id, userId: responder.id });
		expect(!removeIm.ok && removeIm.error.code).toBe('conflict');
		const toViewer = await handOver(ctx, manager.actor, { incidentId: inc.id, toUserId: exec.id });
		expect(!toViewer.ok && toViewer.error.code).toBe('invalid');
		const rows = await ctx.db
			.selectFrom('audit_events')
			.select(['action', 'at'])
			.where('subject_id', '=', inc.id)
			.where('action', '=', 'incident.hand_over')
			.execute();
		expect(rows.length).toBe(2);
	});

	it('adds a whole team as responders, viewers among them as observers, skipping members', async () => {
		const inc = must(await declareIncident(ctx, manager.actor, { ...base, title: 'DB team call-out' })).incident;
		must(await addMember(ctx, manager.actor, { incidentId: inc.id, userId: responder.id, role: 'technical_lead' }));
		const r = must(await addOrgUnit(ctx, manager.actor, { incidentId: inc.id, orgUnitId: teamId }));
		expect(r.added.map((m) => [m.userId, m.role]).sort()).toEqual(
			[
				[responder2.id, 'responder'],
				[exec.id, 'observer']
			].sort()
		);
		expect(r.skipped).toEqual([{ userId: responder.id, displayName: 'Li Qiang', reason: 'already_member' }]);
		const removed = must(await removeMember(ctx, manager.actor, { incidentId: inc.id, userId: responder2.id }));
		expect(removed.userId).toBe(responder2.id);
		const view = must(await getIncident(ctx, manager.actor, inc.id));
		expect(view.members.some((m) => m.userId === responder2.id)).toBe(false);
	});

	it('edits title, description and services, recording only what changed', async () => {
		const inc = must(await declareIncident(ctx, manager.actor, { ...base, title: 'Old title', services: ['CORE-BANKING'] })).incident;
		const badService = await editIncident(ctx, manager.actor, { incidentId: inc.id, input: { services: ['CORE-BANKING', 'NOPE'] } });
		expect(!badService.ok && 'errors' in badService.error && badService.error.errors[0]).toMatchObject({
			field: 'services[1]',
			code: 'unknown_service'
		});
		const edited = must(
			await editIncident(ctx, manager.actor, {
				incidentId: inc.id,
				input: { title: 'New title', services: [payments] },
				expectedVersion: inc.version
			})
		);
		expect(edited.title).toBe('New title');
		expect(edited.services.map((s) => s.code)).toEqual(['PAYMENTS']);
		const row = await ctx.db
			.selectFrom('audit_events')
			.selectAll()
			.where('subject_id', '=', inc.id)
			.where('action', '=', 'incident.edit')
			.executeTakeFirstOrThrow();
		expect(row.before).toEqual({ title: 'Old title', services: ['CORE-BANKING'] });
		expect(row.after).toEqual({ title: 'New title', services: ['PAYMENTS'] });
		const viewerEdit = await editIncident(ctx, exec.actor, { incidentId: inc.id, input: { title: 'x' } });
		expect(!viewerEdit.ok && viewerEdit.error.code).toBe('forbidden');
	});

	it('validates new incidents field by field', async () => {
		const r = await declareIncident(ctx, manager.actor, {
			title: '',
			impact: 'huge',
			urgency: 'high',
			services: ['CORE-BANKING', 42, 'NOPE'],
			detectedAt: '2026-11-22 08:00',
			source: 'fax',
			drill: 'maybe'
		});
		expect(r.ok).toBe(false);
		const fields = !r.ok && 'errors' in r.error ? r.error.errors.map((e) => e.field) : [];
		expect(fields).toEqual(expect.arrayContaining(['title', 'impact', 'services[1]', 'services[2]', 'detectedAt', 'source', 'drill']));
		const mismatch = await declareIncident(ctx, manager.actor, { ...base, priority: 'P3' });
		expect(!mismatch.ok && 'errors' in mismatch.error && mismatch.error.errors[0]).toMatchObject({
			field: 'priority',
			code: 'priority_mismatch'
		});
		const viewer = await proposeIncident(ctx, exec.actor, base);
		expect(!viewer.ok && viewer.error.code).toBe('forbidden');
		const responderDeclares = await declareIncident(ctx, responder.actor, base);
		expect(!responderDeclares.ok && responderDeclares.error.code).toBe('forbidden');
	});

	it('a repeating alert with the same dedupe key lands on the same open incident', async () => {
		const first = must(
			await declareIncident(ctx, manager.actor, {
				...base,
				title: 'ALERT core-db latency',
				dedupeKey: 'zabbix:core-db:latency',
				source: 'monitoring'
			})
		);
		const second = must(
			await declareIncident(ctx, manager.actor, {
				...base,
				title: 'ALERT core-db latency (again)',
				dedupeKey: 'zabbix:core-db:latency',
				source: 'monitoring'
			})
		);
		expect(first.created).toBe(true);
		expect(second.created).toBe(false);
		expect(second.incident.id).toBe(first.incident.id);
		expect(second.incident.repeatCount).toBe(1);
		expect(entries.some((e) => e.incidentId === first.incident.id && e.entry.kind === 'observation')).toBe(true);
		// Concurrent duplicates: one incident.
		const burst = await Promise.all(
			[1, 2, 3].map(() => declareIncident(ctx, manager.actor, { ...base, title: 'Burst', dedupeKey: 'burst-1' }))
		);
		const ids = new Set(burst.map((b) => must(b).incident.id));
		expect(ids.size).toBe(1);
		expect(burst.filter((b) => b.ok && b.value.created)).toHaveLength(1);
		// Once resolved, the same alert opens a new incident.
		must(await changeStatus(ctx, manager.actor, { incidentId: first.incident.id, to: 'resolved' }));
		const third = must(await declareIncident(ctx, manager.actor, { ...base, dedupeKey: 'zabbix:core-db:latency' }));
		expect(third.created).toBe(true);
		expect(third.incident.id).not.toBe(first.incident.id);
		// Reopening the old one now would give two open incidents for one alert.
		const reopen = await reopenIncident(ctx, manager.actor, { incidentId: first.incident.id, reason: 'back' });
		expect(!reopen.ok && reopen.error.code).toBe('conflict');
	});

	it('numbers incidents per day in the organisation time zone, without gaps under concurrency', async () => {
		ctx.setNow(new Date('2026-11-23T16:30:00Z')); // 00:30 on 24 November in Shanghai
		const made = await Promise.all([1, 2, 3, 4, 5].map((i) => declareIncident(ctx, manager.actor, { ...base, title: `Parallel ${i}` })));
		const numbers = made.map((m) => must(m).incident.number).sort();
		expect(numbers).toEqual(['INC-20261124-0001', 'INC-20261124-0002', 'INC-20261124-0003', 'INC-20261124-0004', 'INC-20261124-0005']);
		const byNumber = must(await getIncident(ctx, manager.actor, 'INC-20261124-0003'));
		expect(byNumber.title).toMatch(/^Parallel/);
	});

	it('shows restricted incidents only to their members and admins on every read path', async () => {
		ctx.setNow(new Date('2026-11-25T08:00:00Z'));
		const secret = must(
			await declareIncident(ctx, manager.actor, {
				...base,
				title: 'Ransomware on branch file servers',
				restricted: true,
				services: ['CORE-BANKING']
			})
		).incident;
		must(await addMember(ctx, manager.actor, { incidentId: secret.id, userId: responder.id, role: 'technical_lead' }));

		const visible = async (u: User) => {
			const list = must(await listIncidents(ctx, u.actor, {}));
			const search = must(await listIncidents(ctx, u.actor, { q: 'ransomware' }));
			const byService = must(await listIncidents(ctx, u.actor, { serviceId: coreBanking, restricted: true }));
			const get = await getIncident(ctx, u.actor, secret.id);
			const byNumber = await getIncident(ctx, u.actor, secret.number);
			const room = await roomAccess(ctx, { userId: u.id, incidentId: secret.id });
			return {
				list: list.some((i) => i.id === secret.id),
				search: search.some((i) => i.id === secret.id),
				byService: byService.some((i) => i.id === secret.id),
				get: get.ok,
				byNumber: byNumber.ok,
				room
			};
		};
		expect(await visible(manager)).toEqual({ list: true, search: true, byService: true, get: true, byNumber: true, room: 'write' });
		expect(await visible(responder)).toEqual({ list: true, search: true, byService: true, get: true, byNumber: true, room: 'write' });
		expect(await visible(admin)).toEqual({ list: true, search: true, byService: true, get: true, byNumber: true, room: 'read' });
		for (const u of [manager2, outsider, exec, responder2])
			expect(await visible(u)).toEqual({ list: false, search: false, byService: false, get: false, byNumber: false, room: 'none' });
		// Asked together (a join storm), the room answers are the same, in one query per incident; an
		// unknown user or incident gets no access and does not disturb the others' answers.
		const counted = countingDb(ctx.db);
		const storm = { ...ctx, db: counted.db };
		const people = [manager, responder, admin, manager2, outsider, exec, responder2];
		const together = await Promise.all([
			...people.map((u) => roomAccess(storm, { userId: u.id, incidentId: secret.id })),
			roomAccess(storm, { userId: 'no-such-user', incidentId: secret.id }),
			roomAccess(storm, { userId: manager.id, incidentId: 'no-such-incident' }),
			roomAccess(storm, { userId: responder.id, incidentId: 'no-such-incident' })
		]);
		expect(together).toEqual(['write', 'write', 'read', 'none', 'none', 'none', 'none', 'none', 'none', 'none']);
		expect(counted.queries).toEqual(['select', 'select']);
		// The collab socket's rule reads each incident once for every user (the users come from their
		// sessions) and decides exactly as roomAccess does; an unknown incident lets nobody in.
		const readOnce = countingDb(ctx.db);
		const sockets = { ...ctx, db: readOnce.db };
		const [policy, unknown] = await Promise.all([roomPolicy(sockets, secret.id), roomPolicy(sockets, 'no-such-incident')]);
		expect(readOnce.queries).toEqual(['select']);
		const rows = await ctx.db
			.selectFrom('users')
			.select(['id', 'global_role', 'disabled'])
			.where(
				'id',
				'in',
				people.map((u) => u.id)
			)
			.execute();
		const rowOf = (u: User) => rows.find((r) => r.id === u.id)!;
		expect(people.map((u) => policy(rowOf(u)))).toEqual(together.slice(0, people.length));
		expect(policy({ ...rowOf(manager), disabled: true })).toBe('none');
		expect(unknown(rowOf(manager))).toBe('none');
		// Not found, not forbidden: the answer does not reveal that the incident exists.
		const peek = await getIncident(ctx, manager2.actor, secret.id);
		expect(!peek.ok && peek.error.code).toBe('not_found');
		const write = await changeStatus(ctx, manager2.actor, { incidentId: secret.id, to: 'identified' });
		expect(!write.ok && write.error.code).toBe('not_found');
		// A removed member loses access at once.
		must(await removeMember(ctx, manager.actor, { incidentId: secret.id, userId: responder.id }));
		expect((await visible(responder)).get).toBe(false);
		// A dedupe hit on a restricted incident does not leak it to someone who cannot see it.
		must(await editIncident(ctx, manager.actor, { incidentId: secret.id, input: { description: 'keyed' } }));
		await ctx.db.updateTable('incidents').set({ dedupe_key: 'siem:ransomware' }).where('id', '=', secret.id).execute();
		const leak = await declareIncident(ctx, manager2.actor, { ...base, dedupeKey: 'siem:ransomware' });
		expect(!leak.ok && leak.error.code).toBe('conflict');
		expect(!leak.ok && leak.error.message).not.toContain(secret.number);
		// Notifications about a restricted incident say so, so channels redact them.
		expect(notices.filter((n) => n.incidentId === secret.id).every((n) => n.restricted === true)).toBe(true);
	});

	it('filters the list by status, priority, service, mine, drill and search text', async () => {
		const mine = must(await listIncidents(ctx, responder2.actor, { mine: true }));
		expect(mine.every((i) => i.myRole !== null)).toBe(true);
		expect(mine.length).toBeGreaterThan(0);
		const drills = must(await listIncidents(ctx, manager.actor, { drill: true }));
		expect(drills.map((i) => i.title)).toEqual(['Hand-over drill']);
		const proposed = must(await listIncidents(ctx, manager.actor, { status: 'proposed' }));
		expect(proposed.every((i) => i.status === 'proposed')).toBe(true);
		const active = must(await listIncidents(ctx, manager.actor, { status: 'active', priority: ['P1'] }));
		expect(active.every((i) => ['investigating', 'identified', 'mitigated'].includes(i.status) && i.priority === 'P1')).toBe(true);
		const byNumber = must(await listIncidents(ctx, manager.actor, { q: 'INC-20261124-000' }));
		expect(byNumber).toHaveLength(5);
		const wildcard = must(await listIncidents(ctx, manager.actor, { q: '%' }));
		expect(wildcard).toHaveLength(0);
		const bad = await listIncidents(ctx, manager.actor, { status: 'nope' as never });
		expect(!bad.ok && bad.error.code).toBe('invalid');
	});

	it('leaves an intact audit chain behind', async () => {
		const r = await verifyChain(ctx.db);
		expect(r).toMatchObject({ ok: true });
		expect(r.events).toBeGreaterThan(40);
	});
});
