/**
 * Field validation shared by services: each check returns a DomainError naming the field, so routes
 * show it inline and the API returns it with the field path.
 */
import type { DomainError } from '../../domain/result';

// C0/C1 control characters except tab and newlines (which multi-line fields may contain).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

export function text(
	field: string,
	value: unknown,
	opts: { required?: boolean; max: number; multiline?: boolean; min?: number }
): DomainError | string | undefined {
	if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
		if (opts.required) return { code: 'required', message: `${field} is required`, field };
		return undefined;
	}
	if (typeof value !== 'string') return { code: 'invalid_type', message: `${field} must be text`, field };
	const v = value.trim();
	if (v.length > opts.max)
		return {
			code: 'too_long',
			message: `${field} must be at most ${opts.max} characters (got ${v.length})`,
			field,
			params: { max: opts.max }
		};
	if (opts.min && v.length < opts.min)
		return { code: 'too_short', message: `${field} must be at least ${opts.min} characters`, field, params: { min: opts.min } };
	// An unpaired UTF-16 surrogate cannot be stored as text: refuse it rather than store a substitute.
	if (!v.isWellFormed())
		return { code: 'invalid_characters', message: `${field} contains an invalid character (an unpaired surrogate)`, field };
	if (CONTROL.test(v) || (!opts.multiline && /[\r\n\t]/.test(v)))
		return { code: 'control_characters', message: `${field} contains control characters`, field };
	return v;
}

export function isError(v: unknown): v is DomainError {
	return typeof v === 'object' && v !== null && 'code' in v && 'message' in v;
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): DomainError | T {
	if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
	return {
		code: 'invalid_value',
		message: `${field} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)?.slice(0, 60)})`,
		field
	};
}

export function timeZone(field: string, value: unknown): DomainError | string {
	if (typeof value !== 'string' || value.length > 64)
		return { code: 'invalid_value', message: `${field} must be an IANA time zone`, field };
	try {
		new Intl.DateTimeFormat('en', { timeZone: value });
		return value;
	} catch {
		return {
			code: 'invalid_value',
			message: `${field} must be an IANA time zone such as Asia/Shanghai (got ${value.slice(0, 60)})`,
			field
		};
	}
}

export const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const USERNAME = /^[a-z0-9][a-z0-9._-]{1,39}$/;
export const CODE = /^[A-Z0-9][A-Z0-9_-]{1,39}$/;

/** Our record ids: UUIDs, or short URL-safe tokens (fixtures, slugs). */
const RECORD_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * A submitted record id, or undefined when it cannot name any record (not text, too long, or holding
 * characters no id has, such as a NUL that PostgreSQL would refuse): the caller answers "not found"
 * without querying.
 */
export function recordId(value: unknown): string | undefined {
	return typeof value === 'string' && RECORD_ID.test(value) ? value : undefined;
}
