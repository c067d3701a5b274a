/**
 * `/api/v1/incidents…`: request handling for the inbound API, taking a real `Request` and returning
 * a `Response`, so the `+server.ts` files stay one line each and the tests feed real requests.
 * Parsing and HTTP concerns live here; every decision is the services'.
 */
import { INCIDENT_STATUSES } from '../../domain/incident-status';
import { parsePriority, type Priority } from '../../domain/priority';
import type { Actor, AppContext } from '../context';
import * as servicesRepo from '../repositories/services.repository';
import {
	changeStatus,
	getIncident,
	listIncidents,
	LIST_MAX_LIMIT,
	openIncident,
	SEARCH_MAX_CHARS,
	type IncidentFilters,
	type StatusFilter
} from '../services/incident.service';
import { apiError, authenticate, fromDomainError, guard, json, readJsonObject, unknownFields, type FieldProblem } from './respond';

export interface ApiRequest {
	ctx: AppContext;
	request: Request;
	/** `locals.actor` from the session cookie, if any. */
	sessionActor: Actor | null;
}

const CREATE_FIELDS = [
	'title',
	'description',
	'impact',
	'urgency',
	'priority',
	'services',
	'detectedAt',
	'source',
	'drill',
	'restricted',
	'dedupeKey',
	'declare'
] as const;

const STATUS_FIELDS = ['status', 'reason', 'waiverReason', 'version'] as const;

const IDEMPOTENCY_KEY_MAX_CHARS = 200;

function invalidFields(fields: FieldProblem[]): Response {
	return apiError({ status: 400, code: 'invalid', message: fields.map((f) => `${f.path}: ${f.message}`).join('; '), fields });
}

function boolParam(url: URL, name: string, problems: FieldProblem[]): boolean | undefined {
	const v = url.searchParams.get(name);
	if (v === null || v === '') return undefined;
	if (v === 'true' || v === '1') return true;
	if (v === 'false' || v === '0') return false;
	problems.push({ path: name, code: 'invalid_value', message: `${name} must be true or false` });
	return undefined;
}

/** GET /api/v1/incidents?status=&priority=&service=&mine=&drill=&restricted=&q=&limit= */
export function listIncidentsApi(req: ApiRequest): Promise<Response> {
	return guard(async () => {
		const auth = await authenticate({ ...req, stateChanging: false });
		if (!auth.ok) return auth.response;
		const url = new URL(req.request.url);
		const problems: FieldProblem[] = [];
		const filters: IncidentFilters = {};
		const statusRaw = url.searchParams.get('status');
		if (statusRaw) {
			const allowed = ['active', 'open', ...INCIDENT_STATUSES];
			const list = statusRaw.split(',').map((s) => s.trim());
			list.forEach((s, i) => {
				if (!allowed.includes(s))
					problems.push({ path: `status[${i}]`, code: 'invalid_value', message: `status must be one of ${allowed.join(', ')}` });
			});
			filters.status = list as StatusFilter[];
		}
		const priorityRaw = url.searchParams.get('priority');
		if (priorityRaw) {
			const priorities: Priority[] = [];
			priorityRaw.split(',').forEach((p, i) => {
				const r = parsePriority(p, `priority[${i}]`);
				if (r.ok) priorities.push(r.value);
				else problems.push({ path: `priority[${i}]`, code: r.error.code, message: r.error.message });
			});
			filters.priority = priorities;
		}
		const service = url.searchParams.get('service');
		if (service) {
			const found =
				// eslint-disable-next-line no-control-regex -- PostgreSQL refuses NUL in text: such a code names nothing
				service.length <= 100 && !/[\u0000-\u001f]/.test(service)
					? ((await servicesRepo.findById(req.ctx.db, service)) ?? (await servicesRepo.findByCode(req.ctx.db, service.toUpperCase())))
					: undefined;
			if (!found)
				problems.push({
					path: 'service',
					code: 'unknown_service',
					message: `no business service ${JSON.stringify(service.slice(0, 100))} in the catalogue`
				});
			else filters.serviceId = found.id;
		}
		filters.mine = boolParam(url, 'mine', problems);
		filters.drill = boolParam(url, 'drill', problems);
		filters.restricted = boolParam(url, 'restricted', problems);
		const q = url.searchParams.get('q');
		if (q) {
			if (q.length > SEARCH_MAX_CHARS)
				problems.push({ path: 'q', code: 'too_long', message: `q must be at most ${SEARCH_MAX_CHARS} characters` });
			filters.q = q;
		}
		const limit = url.searchParams.get('limit');
		if (limit) {
			const n = Number(limit);
			if (!/^\d+$/.test(limit) || n < 1 || n > LIST_MAX_LIMIT)
				problems.push({ path: 'limit', code: 'invalid_value', message: `limit must be a whole number from 1 to ${LIST_MAX_LIMIT}` });
			else filters.limit = n;
		}
		if (problems.length) return invalidFields(problems);
		const r = await listIncidents(req.ctx, auth.value, filters);
		if (!r.ok) return fromDomainError(r.error);
		return json({ data: r.value });
	});
}

/**
 * POST /api/v1/incidents — propose, or declare with `declare: true` (a manager's permission).
 * A `dedupeKey` (or the `Idempotency-Key` header) makes a repeating alert land on the same open
 * incident: 200 with that incident instead of 201 with a new one.
 */
export function createIncidentApi(req: ApiRequest): Promise<Response> {
	return guard(async () => {
		const auth = await authenticate({ ...req, stateChanging: true });
		if (!auth.ok) return auth.response;
		const body = await readJsonObject(req.request);
		if (!body.ok) return body.response;
		const input = body.value;
		const problems = unknownFields(input, CREATE_FIELDS);
		if (input.declare !== undefined && typeof input.declare !== 'boolean')
			problems.push({ path: 'declare', code: 'invalid_type', message: 'declare must be true or false' });
		for (const key of ['drill', 'restricted'] as const)
			if (input[key] !== undefined && typeof input[key] !== 'boolean')
				problems.push({ path: key, code: 'invalid_type', message: `${key} must be true or false` });
		if (input.services !== undefined && !Array.isArray(input.services))
			problems.push({ path: 'services', code: 'invalid_type', message: 'services must be an array of service ids or codes' });
		const idempotencyKey = req.request.headers.get('idempotency-key');
		if (idempotencyKey !== null && (idempotencyKey.trim() === '' || idempotencyKey.length > IDEMPOTENCY_KEY_MAX_CHARS))
			problems.push({
				path: 'Idempotency-Key',
				code: 'invalid_value',
				message: `the Idempotency-Key header must be 1 to ${IDEMPOTENCY_KEY_MAX_CHARS} characters`
			});
		if (problems.length) return invalidFields(problems);
		const viaToken = auth.value.scopes !== undefined;
		const r = await openIncident(req.ctx, auth.value, {
			mode: input.declare === true ? 'declare' : 'propose',
			input: {
				...input,
				// A monitoring system's alert key: the body's field, else the header.
				dedupeKey: input.dedupeKey ?? idempotencyKey?.trim() ?? undefined,
				source: input.source ?? (viaToken ? 'api' : 'web')
			}
		});
		if (!r.ok) return fromDomainError(r.error);
		const { incident, created } = r.value;
		return json(
			{ data: incident, created },
			{ status: created ? 201 : 200, headers: created ? { location: `/api/v1/incidents/${incident.id}` } : {} }
		);
	});
}

/** GET /api/v1/incidents/{id} — the id or the INC-… number. */
export function getIncidentApi(req: ApiRequest & { id: string }): Promise<Response> {
	return guard(async () => {
		const auth = await authenticate({ ...req, stateChanging: false });
		if (!auth.ok) return auth.response;
		const r = await getIncident(req.ctx, auth.value, req.id);
		if (!r.ok) return fromDomainError(r.error);
		return json({ data: r.value });
	});
}

/** POST /api/v1/incidents/{id}/status — `{ status, reason?, waiverReason?, version? }`. */
export function changeStatusApi(req: ApiRequest & { id: string }): Promise<Response> {
	return guard(async () => {
		const auth = await authenticate({ ...req, stateChanging: true });
		if (!auth.ok) return auth.response;
		const body = await readJsonObject(req.request);
		if (!body.ok) return body.response;
		const input = body.value;
		const problems = unknownFields(input, STATUS_FIELDS);
		if (input.status === undefined) problems.push({ path: 'status', code: 'required', message: 'status is required' });
		if (input.version !== undefined && (typeof input.version !== 'number' || !Number.isSafeInteger(input.version)))
			problems.push({ path: 'version', code: 'invalid_type', message: 'version must be a whole number' });
		if (problems.length) return invalidFields(problems);
		const r = await changeStatus(req.ctx, auth.value, {
			incidentId: req.id,
			to: input.status,
			reason: input.reason,
			waiverReason: input.waiverReason,
			expectedVersion: input.version
		});
		if (!r.ok) return fromDomainError(r.error);
		return json({ data: r.value });
	});
}
