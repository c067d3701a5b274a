/**
 * Secrets the Lucia way: `id.secret`, both 120 bits of randomness in lower-case base32; the database
 * stores only the SHA-256 of the secret, and secrets are compared in constant time.
 */
import { sha256 } from '@oslojs/crypto/sha2';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';

export function randomString(): string {
	const bytes = new Uint8Array(15); // 120 bits → 24 base32 characters
	crypto.getRandomValues(bytes);
	return encodeBase32LowerCaseNoPadding(bytes);
}

export function hashSecret(secret: string): Uint8Array {
	return sha256(new TextEncoder().encode(secret));
}

export function newToken(): { id: string; secret: string; token: string; secretHash: Uint8Array } {
	const id = randomString();
	const secret = randomString();
	return { id, secret, token: `${id}.${secret}`, secretHash: hashSecret(secret) };
}

/** Splits `id.secret`; anything else (wrong shape, wrong alphabet, absurd length) is undefined. */
export function parseToken(token: string | undefined | null): { id: string; secret: string } | undefined {
	if (!token || token.length > 100) return undefined;
	const m = /^([a-z2-7]{24})\.([a-z2-7]{24})$/.exec(token);
	if (!m) return undefined;
	return { id: m[1]!, secret: m[2]! };
}

export function secretMatches(secret: string, storedHash: Uint8Array): boolean {
	const given = hashSecret(secret);
	return given.length === storedHash.length && constantTimeEqual(given, new Uint8Array(storedHash));
}
