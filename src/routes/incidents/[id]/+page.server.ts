import { getApp } from '$lib/server/app';
import { failForm, raise, requireActor } from '$lib/server/http';
import { listOrgUnits, listServices } from '$lib/server/services/catalogue.service';
import {
	acceptProposal,
	changePriority,
	changeStatus,
	editIncident,
	getIncident,
	rejectProposal
} from '$lib/server/services/incident.service';
import {
	acknowledgePage,
	addMember,
	addOrgUnit,
	changeMemberRole,
	handOver,
	pageMembers,
	removeMember
} from '$lib/server/services/membership.service';
import { listUsers } from '$lib/server/services/users.service';
import { playbookRuns } from '$lib/server/services/playbook-run.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await getIncident(ctx, actor, event.params.id);
	if (!r.ok) raise(r.error);
	const i = r.value;
	// The people and teams pickers only for those who may assign roles.
	let people: { id: string; label: string; globalRole: string }[] = [];
	let teams: { id: string; label: string }[] = [];
	if (i.allowed.assign_roles) {
		const users = await listUsers(ctx, actor);
		const units = await listOrgUnits(ctx);
		const memberIds = new Set(i.members.map((m) => m.userId));
		people = users.ok
			? users.value
					.filter((u) => !u.disabled && !memberIds.has(u.id))
					.map((u) => ({ id: u.id, label: `${u.display_name} (${u.username})`, globalRole: u.global_role }))
			: [];
		teams = units.map((u) => ({ id: u.id, label: `${u.code} · ${event.locals.locale === 'zh-CN' ? u.name_zh : u.name_en}` }));
	}
	const catalogue = i.allowed.edit_incident
		? (await listServices(ctx)).map((s) => ({ id: s.id, code: s.code, nameZh: s.name_zh, nameEn: s.name_en }))
		: [];
	const pr = await playbookRuns(ctx, actor, { incidentId: i.id });
	if (!pr.ok) raise(pr.error);
	return {
		playbooks: {
			suggestions: pr.value.suggestions,
			runs: pr.value.runs,
			checklist: pr.value.checklist,
			deviations: pr.value.deviations,
			serverNow: ctx.now().toISOString()
		},
		incident: {
			id: i.id,
			number: i.number,
			title: i.title,
			description: i.description,
			impact: i.impact,
			urgency: i.urgency,
			priority: i.priority,
			status: i.status,
			source: i.source,
			drill: i.drill,
			restricted: i.restricted,
			version: i.version,
			updatedAt: i.updatedAt,
			repeatCount: i.repeatCount,
			times: i.times,
			services: i.services,
			proposedBy: i.proposedBy?.displayName ?? null,
			declaredBy: i.declaredBy?.displayName ?? null,
			rejectedReason: i.rejectedReason,
			closeReason: i.closeReason,
			members: i.members.map((m) => ({
				userId: m.userId,
				displayName: m.displayName,
				username: m.username,
				role: m.role,
				phone: m.phone,
				email: m.email,
				pagedAt: m.pagedAt,
				ackedAt: m.ackedAt,
				awaitingAck: m.awaitingAck,
				pageCount: m.pageCount
			})),
			me: i.me,
			allowed: i.allowed,
			nextStatuses: i.nextStatuses
		},
		people,
		teams,
		catalogue,
		currentUser: { id: actor.userId!, name: actor.displayName }
	};
};

async function run<T>(
	event: Parameters<Actions[string]>[0],
	fn: (
		ctx: Awaited<ReturnType<typeof getApp>>['ctx'],
		actor: ReturnType<typeof requireActor>,
		form: Record<string, string>
	) => Promise<{ ok: true; value: T } | { ok: false; error: { code: string; message: string } }>,
	done: string
) {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const data = await event.request.formData();
	const form: Record<string, string> = {};
	// Repeated fields (the services checkboxes) arrive comma-separated, as the services accept them.
	for (const [k, v] of data) if (typeof v === 'string') form[k] = k in form ? `${form[k]},${v}` : v;
	const r = await fn(ctx, actor, form);
	if (!r.ok) return failForm(r.error as Parameters<typeof failForm>[0], { ...form, action: done });
	return { done };
}

export const actions: Actions = {
	accept: (e) => run(e, (ctx, a, f) => acceptProposal(ctx, a, { incidentId: e.params.id, expectedVersion: f.version }), 'accept'),
	reject: (e) =>
		run(e, (ctx, a, f) => rejectProposal(ctx, a, { incidentId: e.params.id, reason: f.reason, expectedVersion: f.version }), 'reject'),
	status: (e) =>
		run(
			e,
			(ctx, a, f) =>
				changeStatus(ctx, a, {
					incidentId: e.params.id,
					to: f.to,
					reason: f.reason,
					waiverReason: f.waiverReason,
					expectedVersion: f.version
				}),
			'status'
		),
	priority: (e) =>
		run(
			e,
			(ctx, a, f) =>
				changePriority(ctx, a, {
					incidentId: e.params.id,
					impact: f.impact,
					urgency: f.urgency,
					reason: f.reason,
					expectedVersion: f.version
				}),
			'priority'
		),
	ack: (e) => run(e, (ctx, a) => acknowledgePage(ctx, a, { incidentId: e.params.id }), 'ack'),
	page: (e) => run(e, (ctx, a, f) => pageMembers(ctx, a, { incidentId: e.params.id, userIds: f.userId ? [f.userId] : undefined }), 'page'),
	addMember: (e) =>
		run(
			e,
			(ctx, a, f) => addMember(ctx, a, { incidentId: e.params.id, userId: f.userId, role: f.role, page: f.page === 'on' }),
			'addMember'
		),
	addTeam: (e) =>
		run(
			e,
			(ctx, a, f) => addOrgUnit(ctx, a, { incidentId: e.params.id, orgUnitId: f.orgUnitId, role: f.role, page: f.page === 'on' }),
			'addTeam'
		),
	handOver: (e) =>
		run(e, (ctx, a, f) => handOver(ctx, a, { incidentId: e.params.id, toUserId: f.userId, previous: f.previous }), 'handOver'),
	changeRole: (e) =>
		run(e, (ctx, a, f) => changeMemberRole(ctx, a, { incidentId: e.params.id, userId: f.userId, role: f.role }), 'changeRole'),
	edit: (e) =>
		run(
			e,
			(ctx, a, f) =>
				editIncident(ctx, a, {
					incidentId: e.params.id,
					input: { title: f.title, description: f.description, services: f.services },
					expectedVersion: f.version
				}),
			'edit'
		),
	remove: (e) => run(e, (ctx, a, f) => removeMember(ctx, a, { incidentId: e.params.id, userId: f.userId }), 'remove')
};
