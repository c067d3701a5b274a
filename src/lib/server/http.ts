/**
 * Small helpers that keep routes thin: who is acting, and how a DomainError becomes an HTTP answer.
 */
import { error, fail, redirect, type RequestEvent } from '@sveltejs/kit';
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
