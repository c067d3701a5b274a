import { err, ok, type Result } from '../../domain/result';
import type { AppContext } from '../context';
import type { SessionRow, UserRow } from '../db/schema';
import { dummyHash, verifyPassword } from '../auth/password';
import { createSession, invalidateSession } from '../auth/sessions';
import { waitFor, HOUR_MS } from '../auth/throttle';
import * as attempts from '../repositories/login-attempts.repository';
import * as usersRepo from '../repositories/users.repository';
import * as audit from './audit.service';

export interface LoginInput {
	username: string;
	password: string;
	ip: string | null;
	userAgent: string | null;
}

export type LoginError =
	| { code: 'invalid_credentials'; message: string }
	| { code: 'throttled'; message: string; params: { seconds: number } }
	| { code: 'invalid_input'; message: string; field: string };

/**
 * One message for unknown user, wrong password and disabled account, and the same amount of
 * argon2 work for each, so neither the answer nor its timing says which usernames exist.
 */
export async function login(
	ctx: AppContext,
	input: LoginInput
): Promise<Result<{ token: string; session: SessionRow; user: UserRow }, LoginError>> {
	const username = input.username.trim();
	if (!username) return err({ code: 'invalid_input', message: 'username is required', field: 'username' });
	if (!input.password) return err({ code: 'invalid_input', message: 'password is required', field: 'password' });
	if (username.length > 100 || input.password.length > 1024)
		return err({ code: 'invalid_credentials', message: 'Wrong username or password' });

	const now = ctx.now();
	const since = new Date(now.getTime() - HOUR_MS);
	const accountKey = `user:${username.toLowerCase()}`;
	const addressKey = input.ip ? `ip:${input.ip}` : undefined;
	const wait = Math.max(
		waitFor({ failures: await attempts.failuresSince(ctx.db, accountKey, since), now, kind: 'account' }),
		addressKey ? waitFor({ failures: await attempts.failuresSince(ctx.db, addressKey, since), now, kind: 'address' }) : 0
	);
	if (wait > 0) {
		const seconds = Math.ceil(wait / 1000);
		return err({ code: 'throttled', message: `Too many failed attempts; try again in ${seconds} s`, params: { seconds } });
	}

	const user = await usersRepo.findByUsername(ctx.db, username);
	const hash = user?.password_hash ?? (await dummyHash());
	const valid = (await verifyPassword(hash, input.password)) && !!user && !user.disabled && !!user.password_hash;
	const keys = [accountKey, ...(addressKey ? [addressKey] : [])];
	if (!valid || !user) {
		await attempts.record(
			ctx.db,
			keys.map((key) => ({ key, at: now, success: false }))
		);
		if (user)
			await audit.recordNow(ctx.db, {
				actorId: null,
				action: 'auth.login_failed',
				subjectType: 'user',
				subjectId: user.id,
				after: { ip: input.ip }
			});
		return err({ code: 'invalid_credentials', message: 'Wrong username or password' });
	}
	await attempts.clearFailures(ctx.db, accountKey);
	const created = await createSession(ctx, { userId: user.id, ip: input.ip, userAgent: input.userAgent });
	await audit.recordNow(ctx.db, {
		actorId: user.id,
		action: 'auth.login',
		subjectType: 'user',
		subjectId: user.id,
		after: { ip: input.ip }
	});
	return ok({ ...created, user });
}

export async function logout(ctx: AppContext, session: SessionRow): Promise<void> {
	await invalidateSession(ctx, session);
	await audit.recordNow(ctx.db, {
		actorId: session.user_id,
		action: 'auth.logout',
		subjectType: 'user',
		subjectId: session.user_id
	});
}
