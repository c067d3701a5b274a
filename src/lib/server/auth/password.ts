/**
 * argon2id with the OWASP-recommended minimum parameters (19 MiB, 2 iterations, 1 lane), through
 * @node-rs/argon2 (a maintained native binding shipped as prebuilt registry packages).
 */
import { hash, verify } from '@node-rs/argon2';

const OPTIONS = { memoryCost: 19_456, timeCost: 2, outputLen: 32, parallelism: 1 } as const;
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;

export function hashPassword(password: string): Promise<string> {
	return hash(password, OPTIONS);
}

export async function verifyPassword(hashed: string, password: string): Promise<boolean> {
	try {
		return await verify(hashed, password);
	} catch {
		// A malformed stored hash verifies nothing; login then fails like a wrong password.
		return false;
	}
}

// A real hash of a random password: verifying against it costs what a real check costs, so an
// unknown username takes as long to refuse as a wrong password.
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
	dummy ??= hashPassword(crypto.randomUUID());
	return dummy;
}

export function passwordProblem(password: string): 'too_short' | 'too_long' | undefined {
	if (password.length < PASSWORD_MIN_LENGTH) return 'too_short';
	if (password.length > PASSWORD_MAX_LENGTH) return 'too_long';
	return undefined;
}
