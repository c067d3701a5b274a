/**
 * Action items (改进措施): what the review decided to do so the incident does not recur, each with an
 * owner, a due date, a type (corrective / preventive / detective), a link to the problem or change
 * record, and a status followed until done. Reminders before and after the due date come from the
 * follow-up job (`sendActionItemReminders`), deduplicated per item and due date.
 */
import { dayIn, isOpenItem, isOverdue, type ActionItemStatus } from '../../domain/review-metrics';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import type { Actor, AppContext } from '../context';
import type { ActionItemRow } from '../db/schema';
import * as itemsRepo from '../repositories/action-items.repository';
import * as reviewsRepo from '../repositories/reviews.repository';
import * as usersRepo from '../repositories/users.repository';
import * as audit from './audit.service';
import { isError, recordId, text } from './validate';
import { loadFor, notify, notFound } from './incident.service';
import { translate } from '../../i18n';

export const ACTION_ITEM_TYPES = ['corrective', 'preventive', 'detective'] as const;
export type ActionItemType = (typeof ACTION_ITEM_TYPES)[number];
export const ACTION_ITEM_STATUSES = ['open', 'in_progress', 'done', 'cancelled'] as const;
export const TITLE_MAX_CHARS = 300;
export const LINK_MAX_CHARS = 500;
/** How many days before the due date the owner is reminded. */
export const REMIND_BEFORE_DAYS = 3;
const DAY_MS = 24 * 60 * 60_000;
const LIST_MAX = 500;

export interface ActionItemView {
	id: string;
	incidentId: string;
	incidentNumber: string;
	incidentTitle: string;
	title: string;
	ownerId: string | null;
	ownerName: string | null;
	dueDate: string | null;
	type: ActionItemType;
	link: string | null;
	status: ActionItemStatus;
	createdAt: Date;
	closedAt: Date | null;
	overdue: boolean;
	version: number;
}

function viewOf(row: itemsRepo.ActionItemWithNames, today: string): ActionItemView {
	return {
		id: row.id,
		incidentId: row.incident_id,
		incidentNumber: row.incident_number,
		incidentTitle: row.incident_title,
		title: row.title,
		ownerId: row.owner_id,
		ownerName: row.owner_name,
		dueDate: row.due_date,
		type: row.type,
		link: row.link,
		status: row.status,
		createdAt: row.created_at,
		closedAt: row.closed_at,
		overdue: isOverdue({ status: row.status, dueDate: row.due_date }, today),
		version: row.version
	};
}

function today(ctx: AppContext): string {
	return dayIn(ctx.now(), ctx.config.orgTimeZone);
}

/** The items of one incident (no access check: callers have already loaded the incident). */
export async function listActionItemsOf(ctx: AppContext, incidentId: string): Promise<ActionItemView[]> {
	const t = today(ctx);
	return (await itemsRepo.listByIncident(ctx.db, incidentId)).map((r) => viewOf(r, t));
}

export interface ActionItemInput {
	title?: unknown;
	ownerId?: unknown;
	dueDate?: unknown;
	type?: unknown;
	link?: unknown;
	status?: unknown;
}

type ValidationFailure = DomainError & { errors: DomainError[] };

function invalid(errors: DomainError[]): { ok: false; error: ValidationFailure } {
	return err({ code: 'invalid', message: errors.map((e) => e.message).join('; '), errors });
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

async function validate(
	ctx: AppContext,
	input: ActionItemInput,
	partial: boolean
): Promise<Result<Partial<Pick<ActionItemRow, 'title' | 'owner_id' | 'due_date' | 'type' | 'link' | 'status'>>, ValidationFailure>> {
	const errors: DomainError[] = [];
	const out: Partial<Pick<ActionItemRow, 'title' | 'owner_id' | 'due_date' | 'type' | 'link' | 'status'>> = {};
	if (!partial || input.title !== undefined) {
		// One line, no control characters, no unpaired surrogates (validate.ts): a clear error, never a throw.
		// Required, so text() answers a value or an error, never undefined.
		const title = text('title', input.title, { required: true, max: TITLE_MAX_CHARS });
		if (isError(title)) errors.push(title);
		else if (title !== undefined) out.title = title;
	}
	if (!partial || input.type !== undefined) {
		if (!(ACTION_ITEM_TYPES as readonly unknown[]).includes(input.type))
			errors.push({ code: 'invalid_value', message: `type must be one of ${ACTION_ITEM_TYPES.join(', ')}`, field: 'type' });
		else out.type = input.type as ActionItemType;
	}
	if (input.status !== undefined) {
		if (!(ACTION_ITEM_STATUSES as readonly unknown[]).includes(input.status))
			errors.push({ code: 'invalid_value', message: `status must be one of ${ACTION_ITEM_STATUSES.join(', ')}`, field: 'status' });
		else out.status = input.status as ActionItemStatus;
	}
	if (input.ownerId !== undefined) {
		if (input.ownerId === null || input.ownerId === '') out.owner_id = null;
		else if (typeof input.ownerId !== 'string' || !(await usersRepo.findById(ctx.db, input.ownerId)))
			errors.push({ code: 'invalid_value', message: 'owner must be an existing user', field: 'ownerId' });
		else out.owner_id = input.ownerId;
	}
	if (input.dueDate !== undefined) {
		if (input.dueDate === null || input.dueDate === '') out.due_date = null;
		else if (typeof input.dueDate !== 'string' || !DATE.test(input.dueDate) || Number.isNaN(Date.parse(`${input.dueDate}T00:00:00Z`)))
			errors.push({ code: 'invalid_value', message: 'due date must be a date (YYYY-MM-DD)', field: 'dueDate' });
		else out.due_date = input.dueDate;
	}
	if (input.link !== undefined) {
		const link = input.link === null ? undefined : text('link', input.link, { max: LINK_MAX_CHARS });
		if (isError(link)) errors.push(link);
		// A link must not smuggle a script into the page that renders it as <a href>.
		else if (link && /^\s*(javascript|data|vbscript):/i.test(link))
			errors.push({ code: 'invalid_value', message: 'link must be a record id or an http(s) address', field: 'link' });
		else out.link = link ?? null;
	}
	return errors.length ? invalid(errors) : ok(out);
}

/** Adds an action item to a resolved (or any) incident (manage_action_items). */
export async function createActionItem(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: unknown; input: ActionItemInput }
): Promise<Result<ActionItemView, ValidationFailure | DomainError>> {
	const loaded = await loadFor(ctx, actor, { ref: opts.incidentId, operation: 'manage_action_items' });
	if (!loaded.ok) return loaded;
	const v = await validate(ctx, opts.input, false);
	if (!v.ok) return v;
	const now = ctx.now();
	const incident = loaded.value.incident;
	const review = await reviewsRepo.findByIncident(ctx.db, incident.id);
	const status = v.value.status ?? 'open';
	const row = await ctx.db.transaction().execute(async (trx) => {
		const r = await itemsRepo.insert(trx, {
			id: crypto.randomUUID(),
			incident_id: incident.id,
			review_id: review?.id ?? null,
			title: v.value.title!,
			owner_id: v.value.owner_id ?? null,
			due_date: v.value.due_date ?? null,
			type: v.value.type!,
			link: v.value.link ?? null,
			status,
			created_by: actor.userId,
			created_at: now,
			updated_at: now
		});
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'action_item.created',
			subjectType: 'action_item',
			subjectId: r.id,
			after: r,
			at: now
		});
		return r;
	});
	const full = await itemsRepo.findById(ctx.db, row.id);
	if (!full) return err(notFound());
	if (full.owner_id && full.owner_id !== actor.userId) await notifyOwner(ctx, full, 'assigned');
	return ok(viewOf(full, today(ctx)));
}

/** Changes an item (manage_action_items on its incident, or the owner changing their own item's status). */
export async function updateActionItem(
	ctx: AppContext,
	actor: Actor,
	opts: { id: unknown; input: ActionItemInput; expectedVersion?: unknown }
): Promise<Result<ActionItemView, ValidationFailure | DomainError>> {
	const id = recordId(opts.id);
	if (id === undefined) return err({ code: 'not_found', message: 'No such action item' });
	const item = await itemsRepo.findById(ctx.db, id);
	if (!item) return err({ code: 'not_found', message: 'No such action item' });
	const ownStatusOnly = item.owner_id !== null && item.owner_id === actor.userId && Object.keys(opts.input).every((k) => k === 'status');
	const loaded = await loadFor(ctx, actor, { ref: item.incident_id, operation: ownStatusOnly ? 'view_incident' : 'manage_action_items' });
	if (!loaded.ok) return loaded;
	const v = await validate(ctx, opts.input, true);
	if (!v.ok) return v;
	const expected = opts.expectedVersion === undefined || opts.expectedVersion === '' ? undefined : Number(opts.expectedVersion);
	if (expected !== undefined && !Number.isInteger(expected))
		return invalid([{ code: 'invalid_value', message: 'expectedVersion must be a whole number', field: 'expectedVersion' }]);
	const now = ctx.now();
	const patch: itemsRepo.ActionItemPatch = { ...v.value, updated_at: now };
	if (v.value.status && v.value.status !== item.status) patch.closed_at = isOpenItem(v.value.status) ? null : now;
	const updated = await ctx.db.transaction().execute(async (trx) => {
		const r = await itemsRepo.update(trx, { id: item.id, patch, expectedVersion: expected });
		if (r)
			await audit.record(trx, {
				actorId: actor.userId,
				action: 'action_item.updated',
				subjectType: 'action_item',
				subjectId: item.id,
				before: item,
				after: r,
				at: now
			});
		return r;
	});
	if (!updated) return err({ code: 'conflict', message: 'The action item was changed by someone else; reload and try again' });
	const full = await itemsRepo.findById(ctx.db, item.id);
	if (!full) return err(notFound());
	if (v.value.owner_id && v.value.owner_id !== item.owner_id && v.value.owner_id !== actor.userId) await notifyOwner(ctx, full, 'assigned');
	return ok(viewOf(full, today(ctx)));
}

export type ActionItemScope = 'mine' | 'team' | 'overdue' | 'all';

/**
 * Open items across incidents: mine, my team's (owners in my org unit), overdue, or all I can see.
 * Items of restricted incidents appear only to their members (and admins).
 */
export async function listOpenActionItems(
	ctx: AppContext,
	actor: Actor,
	opts: { scope?: unknown } = {}
): Promise<Result<{ scope: ActionItemScope; items: ActionItemView[] }>> {
	if (!actor.userId && actor.kind !== 'system') return err({ code: 'forbidden', message: 'Sign in to see action items' });
	const scope: ActionItemScope = (['mine', 'team', 'overdue', 'all'] as const).find((s) => s === opts.scope) ?? 'mine';
	const visibleTo = actor.kind === 'system' || actor.globalRole === 'admin' ? 'all' : { userId: actor.userId! };
	let ownerIds: string[] | undefined;
	if (scope === 'mine') ownerIds = actor.userId ? [actor.userId] : [];
	if (scope === 'team')
		ownerIds = actor.orgUnitId
			? (await usersRepo.listByOrgUnit(ctx.db, actor.orgUnitId)).map((u) => u.id)
			: actor.userId
				? [actor.userId]
				: [];
	const t = today(ctx);
	let items = (await itemsRepo.listOpen(ctx.db, { ownerIds, visibleTo, limit: LIST_MAX })).map((r) => viewOf(r, t));
	if (scope === 'overdue') items = items.filter((i) => i.overdue);
	return ok({ scope, items });
}

async function notifyOwner(ctx: AppContext, item: itemsRepo.ActionItemWithNames, what: 'assigned' | 'due_soon' | 'overdue'): Promise<void> {
	if (!item.owner_id) return;
	const params = { title: item.title, number: item.incident_number, due: item.due_date ?? '' };
	await notify(ctx, {
		event: `action_item.${what}`,
		incidentId: item.incident_id,
		recipients: [item.owner_id],
		title: {
			'zh-CN': translate('zh-CN', `action.notify.${what}.title`, params),
			en: translate('en', `action.notify.${what}.title`, params)
		},
		body: { 'zh-CN': translate('zh-CN', 'action.notify.body', params), en: translate('en', 'action.notify.body', params) },
		link: '/actions',
		restricted: item.incident_restricted,
		// Once per item, kind and due date: a job re-run sends nothing twice, a new due date re-arms.
		dedupeKey: `action_item.${what}:${item.id}:${item.due_date ?? ''}`
	});
}

/**
 * The reminder part of the follow-up job: owners of open items due within REMIND_BEFORE_DAYS are
 * reminded once before, and once after the due date passes. Marks on the row keep it idempotent
 * across restarts and nodes; changing the due date re-arms both.
 */
export async function sendActionItemReminders(ctx: AppContext, now: Date): Promise<{ soon: number; overdue: number }> {
	const tz = ctx.config.orgTimeZone;
	const t = dayIn(now, tz);
	const until = dayIn(new Date(now.getTime() + REMIND_BEFORE_DAYS * DAY_MS), tz);
	const due = await itemsRepo.dueForReminder(ctx.db, { until, limit: LIST_MAX });
	let soon = 0;
	let overdue = 0;
	for (const item of due) {
		if (!item.due_date) continue;
		const late = item.due_date < t;
		if (late && item.reminded_overdue_for !== item.due_date) {
			const marked = await itemsRepo.markReminded(ctx.db, { id: item.id, kind: 'overdue', dueDate: item.due_date });
			if (marked) {
				await notifyOwner(ctx, item, 'overdue');
				overdue++;
			}
		} else if (!late && item.reminded_soon_for !== item.due_date) {
			const marked = await itemsRepo.markReminded(ctx.db, { id: item.id, kind: 'soon', dueDate: item.due_date });
			if (marked) {
				await notifyOwner(ctx, item, 'due_soon');
				soon++;
			}
		}
	}
	return { soon, overdue };
}
