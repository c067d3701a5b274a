/**
 * Small helpers that keep routes thin: who is acting, and how a DomainError becomes an HTTP answer.
 */
import { error, fail, redirect, type RequestEvent } from '@sveltejs/kit';
import * as devalue from 'devalue';
import type { DomainError } from '../domain/result';
import type { Actor } from './context';

const STATUS: Record<string, number> = {
	forbidden: 403,
	not_found: 404,
	unauthenticated: 401,
	conflict: 409,
	illegal_transition: 409,
	throttled: 429
};

export function statusOf(e: DomainError): number {
	return STATUS[e.code] ?? 400;
}

/** For pages and actions: the signed-in actor, or a redirect to the login page. */
export function requireActor(event: Pick<RequestEvent, 'locals' | 'url'>): Actor {
	if (!event.locals.actor) redirect(303, `/login?next=${encodeURIComponent(event.url.pathname + event.url.search)}`);
	return event.locals.actor;
}

/** Field errors for forms: `{ field: code+params }` plus the submitted values (never the password). */
export function failForm(e: DomainError & { errors?: DomainError[] }, values: Record<string, unknown> = {}) {
	const errors: Record<string, { code: string; params?: Record<string, string | number> }> = {};
	for (const fe of e.errors ?? [e]) if (fe.field) errors[fe.field] = { code: fe.code, params: fe.params };
	const { password: _p, ...safe } = values;
	return fail(statusOf(e), { errors, message: e.message, code: e.code, values: safe });
}

/** For loads: a DomainError becomes an HTTP error page. */
export function raise(e: DomainError): never {
	error(statusOf(e), { message: e.message, code: e.code });
}

export function formValues(data: FormData): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [k, v] of data) if (typeof v === 'string') out[k] = v;
	return out;
}

export function clientAddress(event: RequestEvent, trustProxy: boolean): string | null {
	if (trustProxy) {
		const fwd = event.request.headers.get('x-forwarded-for');
		if (fwd) return fwd.split(',')[0]!.trim().slice(0, 64);
	}
	try {
		return event.getClientAddress();
	} catch {
		// Not available in some environments (e.g. a test harness without a socket).
		return null;
	}
}

/** PostgreSQL cannot store U+0000 in text (nor compare a text column with it): such a value can never be valid. */
const NUL = '\u0000';

/**
 * The first field of a form submission holding a NUL character, or null (also for any request that is
 * not a form). No form field of ours can carry one, and PostgreSQL refuses it in every text parameter,
 * so a form holding one is refused here for every action at once, before any service sees it.
 */
export async function fieldWithNul(request: Request): Promise<string | null> {
	if (request.method !== 'POST') return null;
	const type = request.headers.get('content-type') ?? '';
	if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) return null;
	let data: FormData;
	try {
		data = await request.clone().formData();
	} catch {
		return null; // A malformed body: the action itself answers it.
	}
	for (const [k, v] of data) if (k.includes(NUL) || (typeof v === 'string' && v.includes(NUL))) return k.replaceAll(NUL, '');
	return null;
}

/**
 * The answer to a form holding a NUL character: a 400 naming the field, in the shape `failForm` gives
 * (an action result for an enhanced form, a plain 400 page otherwise). Nothing was read or changed.
 */
export function nulFieldResponse(request: Request, field: string): Response {
	const message = `${field} contains a NUL character (U+0000), which cannot be stored`;
	const data = { errors: { [field]: { code: 'control_characters' } }, message, code: 'control_characters', values: {} };
	// SvelteKit answers an action with JSON when the client asks for it (as `use:enhance` does).
	if ((request.headers.get('accept') ?? '').includes('application/json'))
		return new Response(JSON.stringify({ type: 'failure', status: 400, data: devalue.stringify(data) }), {
			status: 200, // as SvelteKit answers an action failure to an enhanced form; the status is in the body
			headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }
		});
	return new Response(message, { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
}
