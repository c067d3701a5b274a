/**
 * Users, by admins only (no self-registration). Disabling a user or changing a password ends all
 * of that user's sessions (and open sockets) at once.
 */
import { GLOBAL_ROLES, type GlobalRole } from '../../domain/roles';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import type { Actor, AppContext } from '../context';
import type { UserRow } from '../db/schema';
import { hashPassword, passwordProblem, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/password';
import { invalidateUserSessions } from '../auth/sessions';
import * as orgUnits from '../repositories/org-units.repository';
import * as usersRepo from '../repositories/users.repository';
import * as audit from './audit.service';
import { EMAIL, isError, oneOf, text, timeZone, USERNAME } from './validate';

export interface UserInput {
	username?: unknown;
	displayName?: unknown;
	email?: unknown;
	phone?: unknown;
	locale?: unknown;
	timeZone?: unknown;
	orgUnitId?: unknown;
	globalRole?: unknown;
	password?: unknown;
}

export type PublicUser = Omit<UserRow, 'password_hash'>;

export function toPublic(u: UserRow): PublicUser {
	const { password_hash: _, ...rest } = u;
	return rest;
}

function requireAdmin(actor: Actor): DomainError | undefined {
	if (actor.kind === 'system' || actor.globalRole === 'admin') return undefined;
	return { code: 'forbidden', message: 'Only administrators can manage users' };
}

async function validate(
	ctx: AppContext,
	input: UserInput,
	mode: 'create' | 'update'
): Promise<{ errors: DomainError[]; values: Partial<UserRow> & { password?: string } }> {
	const errors: DomainError[] = [];
	const values: Partial<UserRow> & { password?: string } = {};
	const push = <T>(v: DomainError | T | undefined, set: (x: T) => void) => {
		if (isError(v)) errors.push(v);
		else if (v !== undefined) set(v as T);
	};
	if (mode === 'create' || input.username !== undefined) {
		const u = text('username', input.username, { required: true, max: 40 });
		if (typeof u === 'string' && !USERNAME.test(u.toLowerCase()))
			errors.push({
				code: 'invalid_format',
				message: 'username may use lower-case letters, digits, dot, dash and underscore (2–40)',
				field: 'username'
			});
		else push(typeof u === 'string' ? u.toLowerCase() : u, (x: string) => (values.username = x));
	}
	if (mode === 'create' || input.displayName !== undefined)
		push(text('displayName', input.displayName, { required: true, max: 100 }), (x: string) => (values.display_name = x));
	if (input.email !== undefined) {
		const e = text('email', input.email, { max: 200 });
		if (typeof e === 'string' && !EMAIL.test(e))
			errors.push({ code: 'invalid_format', message: 'email is not a valid address', field: 'email' });
		else if (e === undefined) values.email = null;
		else push(e, (x: string) => (values.email = x));
	}
	if (input.phone !== undefined) {
		const p = text('phone', input.phone, { max: 40 });
		if (typeof p === 'string' && !/^[+0-9 ()-]{3,40}$/.test(p))
			errors.push({ code: 'invalid_format', message: 'phone may contain digits, spaces, +, - and parentheses', field: 'phone' });
		else if (p === undefined) values.phone = null;
		else push(p, (x: string) => (values.phone = x));
	}
	if (input.locale !== undefined || mode === 'create')
		push(oneOf('locale', input.locale ?? 'zh-CN', ['zh-CN', 'en'] as const), (x: 'zh-CN' | 'en') => (values.locale = x));
	if (input.timeZone !== undefined || mode === 'create')
		push(timeZone('timeZone', input.timeZone ?? ctx.config.orgTimeZone), (x: string) => (values.time_zone = x));
	if (mode === 'create' || input.globalRole !== undefined)
		push(oneOf<GlobalRole>('globalRole', input.globalRole, GLOBAL_ROLES), (x: GlobalRole) => (values.global_role = x));
	if (input.orgUnitId !== undefined) {
		if (input.orgUnitId === null || input.orgUnitId === '') values.org_unit_id = null;
		else if (typeof input.orgUnitId !== 'string' || !(await orgUnits.findById(ctx.db, input.orgUnitId)))
			errors.push({ code: 'not_found', message: 'orgUnitId does not name an organisation unit', field: 'orgUnitId' });
		else values.org_unit_id = input.orgUnitId;
	}
	if (mode === 'create' || (input.password !== undefined && input.password !== '')) {
		if (typeof input.password !== 'string') errors.push({ code: 'required', message: 'password is required', field: 'password' });
		else {
			const problem = passwordProblem(input.password);
			if (problem === 'too_short')
				errors.push({
					code: 'too_short',
					message: `password must be at least ${PASSWORD_MIN_LENGTH} characters`,
					field: 'password',
					params: { min: PASSWORD_MIN_LENGTH }
				});
			else if (problem === 'too_long')
				errors.push({
					code: 'too_long',
					message: `password must be at most ${PASSWORD_MAX_LENGTH} characters`,
					field: 'password',
					params: { max: PASSWORD_MAX_LENGTH }
				});
			else values.password = input.password;
		}
	}
	return { errors, values };
}

export type ValidationFailure = { code: 'invalid'; message: string; errors: DomainError[] } | DomainError;

export async function createUser(ctx: AppContext, actor: Actor, input: UserInput): Promise<Result<PublicUser, ValidationFailure>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const { errors, values } = await validate(ctx, input, 'create');
	if (values.username && (await usersRepo.findByUsername(ctx.db, values.username)))
		errors.push({ code: 'taken', message: `username ${values.username} is already taken`, field: 'username' });
	if (errors.length) return err({ code: 'invalid', message: errors.map((e) => e.message).join('; '), errors });
	const password_hash = await hashPassword(values.password!);
	const now = ctx.now();
	const user = await ctx.db.transaction().execute(async (trx) => {
		const row = await usersRepo.insert(trx, {
			id: crypto.randomUUID(),
			username: values.username!,
			display_name: values.display_name!,
			email: values.email ?? null,
			phone: values.phone ?? null,
			locale: values.locale ?? 'zh-CN',
			time_zone: values.time_zone ?? ctx.config.orgTimeZone,
			org_unit_id: values.org_unit_id ?? null,
			global_role: values.global_role!,
			password_hash,
			password_changed_at: now
		});
		await audit.record(trx, { actorId: actor.userId, action: 'user.create', subjectType: 'user', subjectId: row.id, after: toPublic(row) });
		return row;
	});
	return ok(toPublic(user));
}

export async function updateUser(
	ctx: AppContext,
	actor: Actor,
	opts: { userId: string; input: UserInput & { disabled?: unknown } }
): Promise<Result<PublicUser, ValidationFailure>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const existing = await usersRepo.findById(ctx.db, opts.userId);
	if (!existing) return err({ code: 'not_found', message: 'No such user' });
	const { errors, values } = await validate(ctx, opts.input, 'update');
	if (values.username && values.username !== existing.username && (await usersRepo.findByUsername(ctx.db, values.username)))
		errors.push({ code: 'taken', message: `username ${values.username} is already taken`, field: 'username' });
	const disabled =
		opts.input.disabled === undefined
			? undefined
			: opts.input.disabled === true || opts.input.disabled === 'on' || opts.input.disabled === 'true';
	if (disabled && existing.id === actor.userId)
		errors.push({ code: 'self_disable', message: 'You cannot disable your own account', field: 'disabled' });
	if (errors.length) return err({ code: 'invalid', message: errors.map((e) => e.message).join('; '), errors });
	const { password, ...patch } = values;
	const now = ctx.now();
	const endSessions = !!password || (disabled === true && !existing.disabled);
	const updated = await ctx.db.transaction().execute(async (trx) => {
		const row = await usersRepo.update(trx, existing.id, {
			...patch,
			...(disabled === undefined ? {} : { disabled }),
			...(password ? { password_hash: await hashPassword(password), password_changed_at: now } : {})
		});
		await audit.record(trx, {
			actorId: actor.userId,
			action: password ? 'user.update_with_password' : 'user.update',
			subjectType: 'user',
			subjectId: existing.id,
			before: toPublic(existing),
			after: toPublic(row!)
		});
		return row!;
	});
	if (endSessions) await invalidateUserSessions(ctx, existing.id);
	ctx.events.publish({ type: 'user.changed', userId: existing.id });
	return ok(toPublic(updated));
}

/** A user changes their own locale / time zone (not role, not org unit). */
export async function updateOwnPreferences(
	ctx: AppContext,
	actor: Actor,
	input: { locale?: unknown; timeZone?: unknown }
): Promise<Result<PublicUser, ValidationFailure>> {
	if (!actor.userId) return err({ code: 'forbidden', message: 'Sign in first' });
	const { errors, values } = await validate(ctx, { locale: input.locale, timeZone: input.timeZone }, 'update');
	if (errors.length) return err({ code: 'invalid', message: errors.map((e) => e.message).join('; '), errors });
	const row = await usersRepo.update(ctx.db, actor.userId, { locale: values.locale, time_zone: values.time_zone });
	if (!row) return err({ code: 'not_found', message: 'No such user' });
	// Kept sessions and rendered pages carry the old language and zone: let them go.
	ctx.events.publish({ type: 'user.changed', userId: row.id });
	return ok(toPublic(row));
}

export async function listUsers(ctx: AppContext, actor: Actor): Promise<Result<PublicUser[]>> {
	if (actor.kind !== 'system' && actor.globalRole === 'viewer') return err({ code: 'forbidden', message: 'Viewers cannot list users' });
	return ok((await usersRepo.list(ctx.db)).map(toPublic));
}

export function actorFromUser(user: UserRow): Actor {
	return {
		kind: 'user',
		userId: user.id,
		globalRole: user.global_role,
		displayName: user.display_name,
		orgUnitId: user.org_unit_id
	};
}
