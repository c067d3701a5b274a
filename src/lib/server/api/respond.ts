/**
 * The inbound API's plumbing, shared by every `/api/v1` handler: who is calling (Bearer token or
 * session cookie + same-origin check), reading a JSON body within limits, and answering errors in
 * one shape — `{ error: { code, message, fields: [{ path, code, message }] } }` — with the right
 * status. Bad input is always a 4xx: a handler wrapped in `guard` turns anything unexpected into a
 * logged 500 with an error id, and that is reserved for our own bugs.
 */
import type { DomainError } from '../../domain/result';
import type { Actor, AppContext } from '../context';
import { log } from '../log';
import { authenticateBearer } from '../services/api-token.service';

/** Largest request body accepted (an incident with a long description fits many times over). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface FieldProblem {
	path: string;
	code: string;
	message: string;
}

export interface ApiErrorBody {
	error: { code: string; message: string; fields: FieldProblem[]; errorId?: string };
}

const STATUS: Record<string, number> = {
	unauthenticated: 401,
	forbidden: 403,
	not_found: 404,
	conflict: 409,
	illegal_transition: 409,
	unsupported_media_type: 415,
	payload_too_large: 413
};

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function json(data: unknown, init: { status?: number; headers?: Record<string, string> } = {}): Response {
	return new Response(JSON.stringify(data), { status: init.status ?? 200, headers: { ...JSON_HEADERS, ...init.headers } });
}

export function apiError(opts: {
	status: number;
	code: string;
	message: string;
	fields?: FieldProblem[];
	headers?: Record<string, string>;
}): Response {
	const body: ApiErrorBody = { error: { code: opts.code, message: opts.message, fields: opts.fields ?? [] } };
	return json(body, { status: opts.status, headers: opts.headers });
}

/** A service's DomainError (with `errors[]` for per-field problems) as an API answer. */
export function fromDomainError(e: DomainError & { errors?: DomainError[] }): Response {
	const list = e.errors ?? (e.field ? [e] : []);
	const fields = list.filter((f) => f.field).map((f) => ({ path: f.field!, code: f.code, message: f.message }));
	const status = STATUS[e.code] ?? 400;
	return apiError({
		status,
		code: e.code,
		message: e.message,
		fields,
		headers: status === 401 ? { 'www-authenticate': 'Bearer realm="warroom"' } : undefined
	});
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; response: Response };

/**
 * Who is calling. An Authorization header wins (and must be valid: a bad token is 401 even with a
 * session cookie). Otherwise the session's actor; with a cookie a state-changing call must come from
 * our own origin, because a browser attaches the cookie to cross-site requests too (CSRF).
 */
export async function authenticate(opts: {
	ctx: AppContext;
	request: Request;
	sessionActor: Actor | null;
	stateChanging: boolean;
}): Promise<Outcome<Actor>> {
	const header = opts.request.headers.get('authorization');
	if (header !== null) {
		const r = await authenticateBearer(opts.ctx, header);
		return r.ok ? { ok: true, value: r.value } : { ok: false, response: fromDomainError(r.error) };
	}
	if (!opts.sessionActor)
		return { ok: false, response: fromDomainError({ code: 'unauthenticated', message: 'Send Authorization: Bearer <token>, or sign in' }) };
	if (opts.stateChanging) {
		const origin = opts.request.headers.get('origin');
		const allowed = new Set([new URL(opts.request.url).origin, ...(opts.ctx.config.origin ? [opts.ctx.config.origin] : [])]);
		if (!origin || !allowed.has(origin))
			return {
				ok: false,
				response: apiError({
					status: 403,
					code: 'cross_origin',
					message: 'A state-changing call with a session cookie must come from this site (the Origin header did not match)'
				})
			};
	}
	return { ok: true, value: opts.sessionActor };
}

/** Reads the body as a JSON object: 415 for another content type, 413 beyond MAX_BODY_BYTES, 400 for bad JSON. */
export async function readJsonObject(request: Request): Promise<Outcome<Record<string, unknown>>> {
	const type = request.headers.get('content-type') ?? '';
	if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type.trim()))
		return {
			ok: false,
			response: apiError({
				status: 415,
				code: 'unsupported_media_type',
				message: `Send the body as application/json (got ${type ? JSON.stringify(type.slice(0, 80)) : 'no content type'})`
			})
		};
	const tooLarge = () =>
		({
			ok: false,
			response: apiError({ status: 413, code: 'payload_too_large', message: `The body must be at most ${MAX_BODY_BYTES} bytes` })
		}) as const;
	// The declared length can be absent (chunked) or wrong: count while reading. Past the limit, keep
	// reading and drop the rest: cancelling the stream destroys the socket (adapter-node), and closing a
	// socket with unread data makes the client see a reset instead of our 413. What may be drained is
	// bounded by adapter-node's BODY_SIZE_LIMIT (512 kB by default), past which its stream fails (below).
	const chunks: Uint8Array[] = [];
	let total = 0;
	if (request.body) {
		const reader = request.body.getReader();
		try {
			for (;;) {
				const { done, value } = await reader.read();
				if (done) break;
				total += value.byteLength;
				if (total <= MAX_BODY_BYTES) chunks.push(value);
			}
		} catch (error) {
			// adapter-node fails the stream past BODY_SIZE_LIMIT (or a lying content length) with a 413.
			if ((error as { status?: number } | null)?.status === 413) return tooLarge();
			return { ok: false, response: apiError({ status: 400, code: 'bad_json', message: 'The body could not be read to its end' }) };
		}
	}
	if (total > MAX_BODY_BYTES) return tooLarge();
	const bytes = new Uint8Array(total);
	let offset = 0;
	for (const c of chunks) {
		bytes.set(c, offset);
		offset += c.byteLength;
	}
	let text: string;
	try {
		text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
	} catch {
		return { ok: false, response: apiError({ status: 400, code: 'bad_json', message: 'The body is not valid UTF-8' }) };
	}
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch (error) {
		const detail = error instanceof Error ? error.message : String(error);
		return {
			ok: false,
			response: apiError({ status: 400, code: 'bad_json', message: `The body is not valid JSON: ${detail.slice(0, 200)}` })
		};
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
		return { ok: false, response: apiError({ status: 400, code: 'bad_json', message: 'The body must be a JSON object' }) };
	return { ok: true, value: parsed as Record<string, unknown> };
}

/** Problems for fields the endpoint does not know: a typo in an integration should fail loudly. */
export function unknownFields(body: Record<string, unknown>, known: readonly string[]): FieldProblem[] {
	return Object.keys(body)
		.filter((k) => !known.includes(k))
		.map((k) => ({ path: k, code: 'unknown_field', message: `${k} is not a field of this endpoint (known: ${known.join(', ')})` }));
}

/** Runs a handler; an unexpected exception becomes a logged 500 with an error id (never a stack trace). */
export async function guard(fn: () => Promise<Response>): Promise<Response> {
	try {
		return await fn();
	} catch (error) {
		const errorId = crypto.randomUUID();
		log.error('api handler failed', { errorId, error });
		const body: ApiErrorBody = { error: { code: 'internal', message: 'Internal error', fields: [], errorId } };
		return json(body, { status: 500 });
	}
}
