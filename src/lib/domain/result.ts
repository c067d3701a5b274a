/**
 * Expected failures are values, not exceptions (DESIGN.md §5). A `DomainError` carries a stable
 * machine `code` (routes map it to an HTTP status and an i18n message), an English `message` for logs
 * and API clients, and optionally the `field` path it concerns and `params` for the message.
 */
export interface DomainError {
	code: string;
	message: string;
	field?: string;
	params?: Record<string, string | number>;
}

export type Result<T, E extends DomainError = DomainError> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
	return { ok: true, value };
}

export function err<E extends DomainError>(error: E): { ok: false; error: E } {
	return { ok: false, error };
}
