/**
 * The organisation tree (head office → regional centres → teams) and the business-service
 * catalogue, managed by admins; read by everyone signed in.
 */
import { err, ok, type DomainError, type Result } from '../../domain/result';
import type { Actor, AppContext } from '../context';
import type { OrgUnitRow, ServiceRow } from '../db/schema';
import * as orgUnits from '../repositories/org-units.repository';
import * as servicesRepo from '../repositories/services.repository';
import * as audit from './audit.service';
import type { ValidationFailure } from './users.service';
import { CODE, isError, oneOf, text } from './validate';

const KINDS = ['head_office', 'region', 'team'] as const;
const CRITICALITY = ['critical', 'high', 'medium', 'low'] as const;

function requireAdmin(actor: Actor): DomainError | undefined {
	if (actor.kind === 'system' || actor.globalRole === 'admin') return undefined;
	return { code: 'forbidden', message: 'Only administrators can change the organisation and the service catalogue' };
}

function invalid(errors: DomainError[]) {
	return err({ code: 'invalid' as const, message: errors.map((e) => e.message).join('; '), errors });
}

export function listOrgUnits(ctx: AppContext): Promise<OrgUnitRow[]> {
	return orgUnits.list(ctx.db);
}

export function listServices(ctx: AppContext): Promise<ServiceRow[]> {
	return servicesRepo.list(ctx.db);
}

export interface OrgUnitInput {
	code?: unknown;
	nameZh?: unknown;
	nameEn?: unknown;
	kind?: unknown;
	parentId?: unknown;
	region?: unknown;
}

/** The path from the head office down to this unit (inclusive). Guards against cycles. */
export function pathTo(units: OrgUnitRow[], id: string): OrgUnitRow[] {
	const byId = new Map(units.map((u) => [u.id, u]));
	const out: OrgUnitRow[] = [];
	let cur = byId.get(id);
	while (cur && out.length <= units.length) {
		out.unshift(cur);
		cur = cur.parent_id ? byId.get(cur.parent_id) : undefined;
	}
	return out;
}

/** The code (upper-cased) and the two names every catalogue entry has; problems go into `errors`. */
function codeAndNames(input: { code?: unknown; nameZh?: unknown; nameEn?: unknown }, errors: DomainError[]) {
	const code = text('code', typeof input.code === 'string' ? input.code.toUpperCase() : input.code, { required: true, max: 40 });
	if (typeof code === 'string' && !CODE.test(code))
		errors.push({ code: 'invalid_format', message: 'code may use capital letters, digits, dash and underscore', field: 'code' });
	else if (isError(code)) errors.push(code);
	return {
		code,
		nameZh: text('nameZh', input.nameZh, { required: true, max: 100 }),
		nameEn: text('nameEn', input.nameEn, { required: true, max: 100 })
	};
}

export async function saveOrgUnit(
	ctx: AppContext,
	actor: Actor,
	opts: { id?: string; input: OrgUnitInput }
): Promise<Result<OrgUnitRow, ValidationFailure>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const { input } = opts;
	const errors: DomainError[] = [];
	const { code, nameZh, nameEn } = codeAndNames(input, errors);
	const kind = oneOf('kind', input.kind, KINDS);
	const region = text('region', input.region, { max: 40 });
	for (const v of [nameZh, nameEn, kind, region]) if (isError(v)) errors.push(v);
	const all = await orgUnits.list(ctx.db);
	let parentId: string | null = null;
	if (typeof input.parentId === 'string' && input.parentId !== '') {
		const parent = all.find((u) => u.id === input.parentId);
		if (!parent) errors.push({ code: 'not_found', message: 'parentId does not name an organisation unit', field: 'parentId' });
		else if (opts.id && pathTo(all, parent.id).some((u) => u.id === opts.id))
			errors.push({ code: 'cycle', message: 'a unit cannot be placed under itself or its own descendants', field: 'parentId' });
		else parentId = parent.id;
	}
	if (kind === 'head_office' && parentId)
		errors.push({ code: 'invalid_value', message: 'the head office has no parent', field: 'parentId' });
	if (kind !== 'head_office' && !isError(kind) && !parentId)
		errors.push({ code: 'required', message: 'a regional centre or team needs a parent unit', field: 'parentId' });
	if (typeof code === 'string') {
		const same = all.find((u) => u.code === code);
		if (same && same.id !== opts.id) errors.push({ code: 'taken', message: `code ${code} is already used`, field: 'code' });
	}
	if (errors.length) return invalid(errors);
	const values = {
		code: code as string,
		name_zh: nameZh as string,
		name_en: nameEn as string,
		kind: kind as OrgUnitRow['kind'],
		parent_id: parentId,
		region: (region as string | undefined) ?? null
	};
	const row = await ctx.db.transaction().execute(async (trx) => {
		const before = opts.id ? all.find((u) => u.id === opts.id) : undefined;
		const saved = opts.id
			? await orgUnits.update(trx, opts.id, values)
			: await orgUnits.insert(trx, { id: crypto.randomUUID(), ...values });
		if (!saved) return undefined;
		await audit.record(trx, {
			actorId: actor.userId,
			action: opts.id ? 'org_unit.update' : 'org_unit.create',
			subjectType: 'org_unit',
			subjectId: saved.id,
			before,
			after: saved
		});
		return saved;
	});
	return row ? ok(row) : err({ code: 'not_found', message: 'No such organisation unit' });
}

export interface ServiceInput {
	code?: unknown;
	nameZh?: unknown;
	nameEn?: unknown;
	ownerTeamId?: unknown;
	criticality?: unknown;
	regions?: unknown;
}

export async function saveService(
	ctx: AppContext,
	actor: Actor,
	opts: { id?: string; input: ServiceInput }
): Promise<Result<ServiceRow, ValidationFailure>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const { input } = opts;
	const errors: DomainError[] = [];
	const { code, nameZh, nameEn } = codeAndNames(input, errors);
	const criticality = oneOf('criticality', input.criticality, CRITICALITY);
	for (const v of [nameZh, nameEn, criticality]) if (isError(v)) errors.push(v);
	const rawRegions = Array.isArray(input.regions) ? input.regions : typeof input.regions === 'string' ? input.regions.split(',') : [];
	const regions = [...new Set(rawRegions.map((r) => String(r).trim()).filter(Boolean))];
	if (regions.length > 20 || regions.some((r) => r.length > 40 || !/^[\p{L}\p{N} _-]+$/u.test(r)))
		errors.push({
			code: 'invalid_value',
			message: 'regions must be up to 20 names of letters, digits, spaces, dash or underscore',
			field: 'regions'
		});
	let ownerTeamId: string | null = null;
	if (typeof input.ownerTeamId === 'string' && input.ownerTeamId !== '') {
		if (!(await orgUnits.findById(ctx.db, input.ownerTeamId)))
			errors.push({ code: 'not_found', message: 'ownerTeamId does not name an organisation unit', field: 'ownerTeamId' });
		else ownerTeamId = input.ownerTeamId;
	}
	if (typeof code === 'string') {
		const same = await servicesRepo.findByCode(ctx.db, code);
		if (same && same.id !== opts.id) errors.push({ code: 'taken', message: `code ${code} is already used`, field: 'code' });
	}
	if (errors.length) return invalid(errors);
	const values = {
		code: code as string,
		name_zh: nameZh as string,
		name_en: nameEn as string,
		criticality: criticality as ServiceRow['criticality'],
		owner_team_id: ownerTeamId,
		regions
	};
	const row = await ctx.db.transaction().execute(async (trx) => {
		const before = opts.id ? await servicesRepo.findById(trx, opts.id) : undefined;
		const saved = opts.id
			? await servicesRepo.update(trx, opts.id, values)
			: await servicesRepo.insert(trx, { id: crypto.randomUUID(), ...values });
		if (!saved) return undefined;
		await audit.record(trx, {
			actorId: actor.userId,
			action: opts.id ? 'service.update' : 'service.create',
			subjectType: 'service',
			subjectId: saved.id,
			before,
			after: saved
		});
		return saved;
	});
	return row ? ok(row) : err({ code: 'not_found', message: 'No such service' });
}
