/**
 * The response group (应急小组): add people one by one or a whole team, change roles, hand over
 * incident command, remove, page and acknowledge. Exactly one incident manager at a time: the
 * service hands over in one transaction (demote, then promote) and a partial unique index refuses a
 * second one, so a race between two hand-overs fails instead of leaving two managers.
 *
 * The first acknowledgement of a page stamps the incident's `first_acked_at` (MTTA). That stamp
 * does not bump the incident's version: it is not an edit, and an edit form opened before someone
 * acknowledged must not be refused for it.
 */
import { canHoldIncidentRole } from '../../domain/permissions';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import { INCIDENT_ROLES, type IncidentRole } from '../../domain/roles';
import type { Actor, AppContext } from '../context';
import type { IncidentMemberRow, IncidentRow, UserRow } from '../db/schema';
import * as membersRepo from '../repositories/incident-members.repository';
import * as incidentsRepo from '../repositories/incidents.repository';
import * as orgUnitsRepo from '../repositories/org-units.repository';
import * as usersRepo from '../repositories/users.repository';
import * as audit from './audit.service';
import {
	afterCommit,
	bilingual,
	isUniqueViolation,
	loadFor,
	memberView,
	notify,
	roleLabel,
	takeCommand,
	type MemberView
} from './incident.service';
import type { ValidationFailure } from './users.service';

/** Adding a whole team pages at most this many people at once; a bigger unit is a mistake. */
export const ORG_UNIT_MAX_MEMBERS = 200;

function conflict(message: string): DomainError {
	return { code: 'conflict', message };
}

function invalid(errors: DomainError[]): { ok: false; error: ValidationFailure } {
	return err({ code: 'invalid', message: errors.map((e) => e.message).join('; '), errors });
}

/** A rejected or closed incident's group is frozen (reopen a closed one first). */
function frozen(incident: IncidentRow): DomainError | null {
	if (incident.status === 'rejected' || incident.status === 'closed')
		return conflict(`The incident is ${incident.status}; its response group can no longer change`);
	return null;
}

function parseRole(value: unknown, field = 'role'): IncidentRole | DomainError {
	if (typeof value === 'string' && (INCIDENT_ROLES as readonly string[]).includes(value)) return value as IncidentRole;
	return {
		code: 'invalid_value',
		message: `${field} must be one of ${INCIDENT_ROLES.join(', ')}`,
		field,
		params: { allowed: INCIDENT_ROLES.join(',') }
	};
}

async function eligibleUser(
	ctx: AppContext,
	opts: { userId: unknown; role: IncidentRole; field?: string }
): Promise<UserRow | DomainError> {
	const field = opts.field ?? 'userId';
	const user = typeof opts.userId === 'string' && opts.userId ? await usersRepo.findById(ctx.db, opts.userId) : undefined;
	if (!user) return { code: 'not_found', message: `${field} does not name a user`, field };
	if (user.disabled) return { code: 'disabled', message: `${user.username} is disabled`, field };
	if (!canHoldIncidentRole(user.global_role, opts.role))
		return {
			code: 'role_not_allowed',
			message: `${user.username} is a viewer and can only be an observer`,
			field,
			params: { role: opts.role }
		};
	return user;
}

async function viewOf(ctx: AppContext, row: IncidentMemberRow): Promise<MemberView> {
	const m = (await membersRepo.listActive(ctx.db, [row.incident_id])).find((x) => x.id === row.id);
	if (m) return memberView(m);
	// Removed rows are not in the active list: build the view from the user directly.
	const u = (await usersRepo.findById(ctx.db, row.user_id))!;
	return memberView({
		...row,
		username: u.username,
		display_name: u.display_name,
		email: u.email,
		phone: u.phone,
		org_unit_id: u.org_unit_id,
		global_role: u.global_role,
		disabled: u.disabled
	});
}

async function sendPages(ctx: AppContext, opts: { incident: IncidentRow; members: IncidentMemberRow[] }): Promise<void> {
	for (const m of opts.members) {
		await notify(ctx, {
			event: 'member.paged',
			incidentId: opts.incident.id,
			recipients: [m.user_id],
			title: bilingual('incident.notify.pagedTitle', { number: opts.incident.number, priority: opts.incident.priority }),
			body: bilingual('incident.notify.pagedBody', { role: roleLabel(m.role), title: opts.incident.title }),
			link: `/incidents/${opts.incident.id}`,
			restricted: opts.incident.restricted,
			// One notification per page sent: a re-run of the same page does not page twice.
			dedupeKey: `member.paged:${m.id}:${m.page_count}`
		});
	}
}

function membershipChanged(ctx: AppContext, incidentId: string, userIds: string[]): void {
	for (const userId of userIds) ctx.events.publish({ type: 'membership.changed', incidentId, userId });
}

// ---------------------------------------------------------------------------------------------

/**
 * Adds one person with a role (paged unless `page` is false; observers are not paged by default).
 * Adding someone as incident manager when there is none is allowed; otherwise use `handOver`.
 */
export async function addMember(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; userId: unknown; role: unknown; page?: boolean }
): Promise<Result<MemberView, ValidationFailure>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'assign_roles' });
	if (!pre.ok) return pre;
	const { incident } = pre.value;
	const isFrozen = frozen(incident);
	if (isFrozen) return err(isFrozen);
	const role = parseRole(opts.role);
	if (typeof role !== 'string') return invalid([role]);
	const user = await eligibleUser(ctx, { userId: opts.userId, role });
	if ('code' in user) return invalid([user]);
	const page = opts.page ?? role !== 'observer';
	const now = ctx.now();
	let row: IncidentMemberRow;
	try {
		const r = await ctx.db.transaction().execute(async (trx) => {
			if (await membersRepo.findActive(trx, { incidentId: incident.id, userId: user.id }))
				return err(conflict(`${user.display_name} is already in the response group; change their role instead`));
			if (role === 'incident_manager' && (await membersRepo.findActiveManager(trx, incident.id)))
				return err(conflict('The incident already has an incident manager; hand over instead'));
			let m = await membersRepo.insert(trx, {
				id: crypto.randomUUID(),
				incident_id: incident.id,
				user_id: user.id,
				role,
				added_by: actor.userId,
				added_at: now
			});
			if (page) m = (await membersRepo.markPaged(trx, { id: m.id, at: now }))!;
			await audit.record(trx, {
				actorId: actor.userId,
				action: 'incident.member_add',
				subjectType: 'incident',
				subjectId: incident.id,
				after: m,
				at: now
			});
			return ok(m);
		});
		if (!r.ok) return r;
		row = r.value;
	} catch (error) {
		if (isUniqueViolation(error, 'incident_members_active') || isUniqueViolation(error, 'incident_members_one_manager'))
			return err(conflict('The response group changed at the same moment; reload and try again'));
		throw error;
	}
	membershipChanged(ctx, incident.id, [user.id]);
	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'members',
		board: false,
		entry: {
			kind: 'role',
			text: bilingual('incident.timeline.memberAdded', { actor: actor.displayName, name: user.display_name, role: roleLabel(role) })
		}
	});
	if (page) await sendPages(ctx, { incident, members: [row] });
	return ok(await viewOf(ctx, row));
}

export interface OrgUnitOutcome {
	added: MemberView[];
	/** People of the unit left out, and why. */
	skipped: { userId: string; displayName: string; reason: 'already_member' | 'disabled' }[];
}

/**
 * Adds every enabled user of an organisation unit (not its sub-units) as `role` (default
 * responder); viewers among them join as observers, since that is the only role they may hold.
 */
export async function addOrgUnit(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; orgUnitId: unknown; role?: unknown; page?: boolean }
): Promise<Result<OrgUnitOutcome, ValidationFailure>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'assign_roles' });
	if (!pre.ok) return pre;
	const { incident } = pre.value;
	const isFrozen = frozen(incident);
	if (isFrozen) return err(isFrozen);
	const role = parseRole(opts.role ?? 'responder');
	if (typeof role !== 'string') return invalid([role]);
	if (role === 'incident_manager')
		return invalid([{ code: 'invalid_value', message: 'a whole team cannot be incident manager', field: 'role' }]);
	const unit = typeof opts.orgUnitId === 'string' && opts.orgUnitId ? await orgUnitsRepo.findById(ctx.db, opts.orgUnitId) : undefined;
	if (!unit) return invalid([{ code: 'not_found', message: 'orgUnitId does not name an organisation unit', field: 'orgUnitId' }]);
	const people = await usersRepo.listByOrgUnit(ctx.db, unit.id);
	if (people.length > ORG_UNIT_MAX_MEMBERS)
		return invalid([
			{
				code: 'too_many',
				message: `${unit.code} has ${people.length} people; add at most ${ORG_UNIT_MAX_MEMBERS} at once`,
				field: 'orgUnitId'
			}
		]);
	const now = ctx.now();
	const page = opts.page ?? role !== 'observer';
	let result: { added: IncidentMemberRow[]; skipped: OrgUnitOutcome['skipped'] };
	try {
		result = await ctx.db.transaction().execute(async (trx) => {
			const added: IncidentMemberRow[] = [];
			const skipped: OrgUnitOutcome['skipped'] = [];
			for (const u of people) {
				if (u.disabled) {
					skipped.push({ userId: u.id, displayName: u.display_name, reason: 'disabled' });
					continue;
				}
				if (await membersRepo.findActive(trx, { incidentId: incident.id, userId: u.id })) {
					skipped.push({ userId: u.id, displayName: u.display_name, reason: 'already_member' });
					continue;
				}
				const r: IncidentRole = canHoldIncidentRole(u.global_role, role) ? role : 'observer';
				let m = await membersRepo.insert(trx, {
					id: crypto.randomUUID(),
					incident_id: incident.id,
					user_id: u.id,
					role: r,
					added_by: actor.userId,
					added_at: now
				});
				if (page && r !== 'observer') m = (await membersRepo.markPaged(trx, { id: m.id, at: now }))!;
				added.push(m);
			}
			if (added.length)
				await audit.record(trx, {
					actorId: actor.userId,
					action: 'incident.member_add_unit',
					subjectType: 'incident',
					subjectId: incident.id,
					after: { orgUnit: unit.code, members: added },
					at: now
				});
			return { added, skipped };
		});
	} catch (error) {
		if (isUniqueViolation(error, 'incident_members_active'))
			return err(conflict('The response group changed at the same moment; reload and try again'));
		throw error;
	}
	if (result.added.length) {
		membershipChanged(
			ctx,
			incident.id,
			result.added.map((m) => m.user_id)
		);
		const names = people
			.filter((p) => result.added.some((m) => m.user_id === p.id))
			.map((p) => p.display_name)
			.join(', ');
		await afterCommit(ctx, {
			incidentId: incident.id,
			what: 'members',
			board: false,
			entry: {
				kind: 'role',
				text: bilingual('incident.timeline.memberAdded', {
					actor: actor.displayName,
					name: `${names} (${unit.code})`,
					role: roleLabel(role)
				})
			}
		});
		await sendPages(ctx, { incident, members: result.added.filter((m) => m.paged_at) });
	}
	const views = (await membersRepo.listActive(ctx.db, [incident.id]))
		.filter((m) => result.added.some((a) => a.id === m.id))
		.map(memberView);
	return ok({ added: views, skipped: result.skipped });
}

/** Changes a member's role (not to or from incident manager: that is `handOver`). */
export async function changeMemberRole(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; userId: unknown; role: unknown }
): Promise<Result<MemberView, ValidationFailure>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'assign_roles' });
	if (!pre.ok) return pre;
	const { incident } = pre.value;
	const isFrozen = frozen(incident);
	if (isFrozen) return err(isFrozen);
	const role = parseRole(opts.role);
	if (typeof role !== 'string') return invalid([role]);
	if (role === 'incident_manager')
		return invalid([{ code: 'use_hand_over', message: 'make someone incident manager by handing over', field: 'role' }]);
	const user = await eligibleUser(ctx, { userId: opts.userId, role });
	if ('code' in user) return invalid([user]);
	const now = ctx.now();
	const r = await ctx.db.transaction().execute(async (trx) => {
		const existing = await membersRepo.findActive(trx, { incidentId: incident.id, userId: user.id });
		if (!existing)
			return err<DomainError>({ code: 'not_found', message: `${user.display_name} is not in the response group`, field: 'userId' });
		if (existing.role === 'incident_manager') return err(conflict("Hand over to someone else before changing the incident manager's role"));
		if (existing.role === role) return ok(existing);
		const updated = (await membersRepo.update(trx, { id: existing.id, patch: { role } }))!;
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'incident.member_role',
			subjectType: 'incident',
			subjectId: incident.id,
			before: existing,
			after: updated,
			at: now
		});
		return ok(updated);
	});
	if (!r.ok) return r;
	membershipChanged(ctx, incident.id, [user.id]);
	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'members',
		board: false,
		entry: {
			kind: 'role',
			text: bilingual('incident.timeline.roleChanged', { actor: actor.displayName, name: user.display_name, role: roleLabel(role) })
		}
	});
	return ok(await viewOf(ctx, r.value));
}

/**
 * Hands incident command to `toUserId` (a member or not yet); the previous incident manager becomes
 * deputy (default) or leaves the group. The time is recorded on the audit event and the timeline.
 */
export async function handOver(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; toUserId: unknown; previous?: unknown }
): Promise<Result<MemberView, ValidationFailure>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'assign_roles' });
	if (!pre.ok) return pre;
	const { incident } = pre.value;
	const isFrozen = frozen(incident);
	if (isFrozen) return err(isFrozen);
	const previous = opts.previous ?? 'deputy';
	if (previous !== 'deputy' && previous !== 'leave')
		return invalid([{ code: 'invalid_value', message: 'previous must be deputy or leave', field: 'previous' }]);
	const user = await eligibleUser(ctx, { userId: opts.toUserId, role: 'incident_manager', field: 'toUserId' });
	if ('code' in user) return invalid([user]);
	const now = ctx.now();
	let outcome: Awaited<ReturnType<typeof takeCommand>>;
	try {
		outcome = await ctx.db.transaction().execute(async (trx) => {
			// Serialise hand-overs of the same incident on its row.
			await incidentsRepo.findByIdForUpdate(trx, incident.id);
			return takeCommand(trx, { incidentId: incident.id, userId: user.id, actorId: actor.userId, now, previous });
		});
	} catch (error) {
		if (isUniqueViolation(error, 'incident_members_one_manager') || isUniqueViolation(error, 'incident_members_active'))
			return err(conflict('Someone else handed over at the same moment; reload and try again'));
		throw error;
	}
	// Already in command: nothing changed, nothing to announce.
	if (!outcome.changed) return ok(await viewOf(ctx, outcome.current));
	const prevUser = outcome.previous ? await usersRepo.findById(ctx.db, outcome.previous.user_id) : undefined;
	membershipChanged(ctx, incident.id, [user.id, ...(outcome.previous ? [outcome.previous.user_id] : [])]);
	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'incident_manager',
		entry: {
			kind: 'role',
			pinned: true,
			text: bilingual('incident.timeline.handOver', {
				actor: actor.displayName,
				from: prevUser?.display_name ?? '—',
				to: user.display_name
			})
		}
	});
	if (outcome.current.acked_at === null && outcome.current.user_id !== actor.userId) {
		const paged = await membersRepo.markPaged(ctx.db, { id: outcome.current.id, at: now });
		if (paged) await sendPages(ctx, { incident, members: [paged] });
	}
	return ok(await viewOf(ctx, outcome.current));
}

/** Removes a member (the incident manager must hand over first). */
export async function removeMember(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; userId: unknown }
): Promise<Result<MemberView, ValidationFailure>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'assign_roles' });
	if (!pre.ok) return pre;
	const { incident } = pre.value;
	const isFrozen = frozen(incident);
	if (isFrozen) return err(isFrozen);
	if (typeof opts.userId !== 'string') return invalid([{ code: 'not_found', message: 'userId does not name a member', field: 'userId' }]);
	const userId = opts.userId;
	const now = ctx.now();
	const r = await ctx.db.transaction().execute(async (trx) => {
		const existing = await membersRepo.findActive(trx, { incidentId: incident.id, userId });
		if (!existing) return err<DomainError>({ code: 'not_found', message: 'That person is not in the response group', field: 'userId' });
		if (existing.role === 'incident_manager') return err(conflict('The incident manager cannot be removed; hand over first'));
		const removed = (await membersRepo.update(trx, { id: existing.id, patch: { removed_at: now, removed_by: actor.userId } }))!;
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'incident.member_remove',
			subjectType: 'incident',
			subjectId: incident.id,
			before: existing,
			after: removed,
			at: now
		});
		return ok(removed);
	});
	if (!r.ok) return r;
	const view = await viewOf(ctx, r.value);
	membershipChanged(ctx, incident.id, [userId]);
	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'members',
		board: false,
		entry: { kind: 'role', text: bilingual('incident.timeline.memberRemoved', { actor: actor.displayName, name: view.displayName }) }
	});
	return ok(view);
}

/**
 * Pages (or pages again) members who have not acknowledged: the given ones, or all of them.
 * The re-page job calls this with the system actor.
 */
export async function pageMembers(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; userIds?: unknown }
): Promise<Result<MemberView[], ValidationFailure>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'assign_roles' });
	if (!pre.ok) return pre;
	const { incident } = pre.value;
	const isFrozen = frozen(incident);
	if (isFrozen) return err(isFrozen);
	if (incident.status === 'resolved') return err(conflict('The incident is resolved; nobody needs to be paged'));
	let wanted: string[] | undefined;
	if (opts.userIds !== undefined) {
		if (!Array.isArray(opts.userIds) || opts.userIds.some((u) => typeof u !== 'string'))
			return invalid([{ code: 'invalid_type', message: 'userIds must be a list of user ids', field: 'userIds' }]);
		wanted = opts.userIds as string[];
	}
	const active = await membersRepo.listActive(ctx.db, [incident.id]);
	const errors: DomainError[] = [];
	wanted?.forEach((id, i) => {
		if (!active.some((m) => m.user_id === id))
			errors.push({ code: 'not_found', message: `userIds[${i}] is not in the response group`, field: `userIds[${i}]` });
	});
	if (errors.length) return invalid(errors);
	const targets = active.filter((m) => m.acked_at === null && (wanted ? wanted.includes(m.user_id) : true));
	if (targets.length === 0) return ok([]);
	const now = ctx.now();
	const paged = await ctx.db.transaction().execute(async (trx) => {
		const out: IncidentMemberRow[] = [];
		for (const m of targets) out.push((await membersRepo.markPaged(trx, { id: m.id, at: now }))!);
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'incident.page',
			subjectType: 'incident',
			subjectId: incident.id,
			after: { userIds: out.map((m) => m.user_id), at: now },
			at: now
		});
		return out;
	});
	membershipChanged(
		ctx,
		incident.id,
		paged.map((m) => m.user_id)
	);
	await afterCommit(ctx, {
		incidentId: incident.id,
		what: 'paged',
		board: false,
		entry: {
			kind: 'role',
			text: bilingual('incident.timeline.paged', { actor: actor.displayName, names: targets.map((t) => t.display_name).join(', ') })
		}
	});
	await sendPages(ctx, { incident, members: paged });
	const views = (await membersRepo.listActive(ctx.db, [incident.id])).filter((m) => paged.some((p) => p.id === m.id)).map(memberView);
	return ok(views);
}

/**
 * The current user acknowledges their page. Idempotent (`first: false` when already acknowledged);
 * the incident's first acknowledgement stamps `first_acked_at` (MTTA).
 */
export async function acknowledgePage(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string }
): Promise<Result<{ ackedAt: Date; first: boolean; incidentFirstAck: boolean }, ValidationFailure>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'acknowledge_page' });
	if (!pre.ok) return pre;
	const { incident, member } = pre.value;
	if (!member) return err({ code: 'forbidden', message: 'Only members of the response group are paged', params: { reason: 'not_member' } });
	if (member.acked_at) return ok({ ackedAt: member.acked_at, first: false, incidentFirstAck: false });
	const now = ctx.now();
	const r = await ctx.db.transaction().execute(async (trx) => {
		const locked = await incidentsRepo.findByIdForUpdate(trx, incident.id);
		const fresh = await membersRepo.findActive(trx, { incidentId: incident.id, userId: member.user_id });
		if (!locked || !fresh) return undefined;
		if (fresh.acked_at) return { ackedAt: fresh.acked_at, first: false, incidentFirstAck: false };
		const acked = await membersRepo.update(trx, { id: fresh.id, patch: { acked_at: now } });
		const incidentFirstAck = locked.first_acked_at === null;
		if (incidentFirstAck) await incidentsRepo.stampFirstAck(trx, { id: locked.id, at: now });
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'incident.acknowledge',
			subjectType: 'incident',
			subjectId: incident.id,
			before: { ackedAt: null, firstAckedAt: locked.first_acked_at },
			after: { member: acked, firstAckedAt: incidentFirstAck ? now : locked.first_acked_at },
			at: now
		});
		return { ackedAt: now, first: true, incidentFirstAck };
	});
	if (!r) return err({ code: 'not_found', message: 'You are no longer in the response group' });
	if (r.first) {
		membershipChanged(ctx, incident.id, [member.user_id]);
		await afterCommit(ctx, {
			incidentId: incident.id,
			what: 'acknowledged',
			board: r.incidentFirstAck,
			entry: { kind: 'role', text: bilingual('incident.timeline.acked', { name: actor.displayName }) }
		});
	}
	return ok(r);
}

/** Who was paged and has not acknowledged (for the war room and the re-page job). */
export async function listUnacknowledged(ctx: AppContext, actor: Actor, opts: { incidentId: string }): Promise<Result<MemberView[]>> {
	const pre = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'view_incident' });
	if (!pre.ok) return pre;
	const active = await membersRepo.listActive(ctx.db, [pre.value.incident.id]);
	return ok(active.map(memberView).filter((m) => m.awaitingAck));
}
