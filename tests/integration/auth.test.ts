import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE, createSession, validateSessionToken } from '../../src/lib/server/auth/sessions';
import { SYSTEM_ACTOR } from '../../src/lib/server/context';
import * as sessionsRepo from '../../src/lib/server/repositories/sessions.repository';
import { login, logout } from '../../src/lib/server/services/auth.service';
import { updateOwnPreferences, updateUser } from '../../src/lib/server/services/users.service';
import { FREE_FAILURES } from '../../src/lib/server/auth/throttle';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';
import { countingDb } from '../helpers/queries';
import { waitFor } from './collab-harness';

let ctx: TestContext;
beforeAll(async () => {
	ctx = await createTestContext();
});
afterAll(async () => {
	await ctx.close();
});

describe(`sessions and login (${dbLabel})`, () => {
	it('logs in with the right password and the session token validates', async () => {
		const u = await makeUser(ctx);
		const r = await login(ctx, { username: u.username, password: u.password, ip: '10.0.0.1', userAgent: 'test' });
		expect(r.ok).toBe(true);
		if (!r.ok) return;
		expect(r.value.token).toMatch(/^[a-z2-7]{24}\.[a-z2-7]{24}$/);
		const valid = await validateSessionToken(ctx, r.value.token);
		expect(valid?.user.id).toBe(u.id);
		expect(SESSION_COOKIE).toBe('warroom_session');
	});

	it('stores only a hash of the secret, never the token', async () => {
		const u = await makeUser(ctx);
		const { token, session } = await createSession(ctx, { userId: u.id, ip: null, userAgent: null });
		const row = await sessionsRepo.findWithUser(ctx.db, session.id);
		const secret = token.split('.')[1]!;
		expect(Buffer.from(row!.session.secret_hash).toString('utf8')).not.toContain(secret);
		expect(row!.session.secret_hash.length).toBe(32);
	});

	it('refuses a token whose secret was tampered with', async () => {
		const u = await makeUser(ctx);
		const { token } = await createSession(ctx, { userId: u.id, ip: null, userAgent: null });
		const [id, secret] = token.split('.') as [string, string];
		const forged = `${id}.${secret.slice(0, -1)}${secret.endsWith('a') ? 'b' : 'a'}`;
		expect(await validateSessionToken(ctx, forged)).toBeUndefined();
		expect(await validateSessionToken(ctx, 'garbage')).toBeUndefined();
	});

	it('gives the same answer for an unknown user and a wrong password', async () => {
		const u = await makeUser(ctx);
		const wrong = await login(ctx, { username: u.username, password: 'not-the-password', ip: null, userAgent: null });
		const unknown = await login(ctx, { username: 'nobody-here', password: 'not-the-password', ip: null, userAgent: null });
		expect(wrong.ok || unknown.ok).toBe(false);
		if (wrong.ok || unknown.ok) return;
		expect(wrong.error).toEqual(unknown.error);
	});

	it('throttles an account after repeated failures, even with the right password', async () => {
		const u = await makeUser(ctx);
		for (let i = 0; i < FREE_FAILURES; i++)
			await login(ctx, { username: u.username, password: 'wrong-password!', ip: null, userAgent: null });
		const r = await login(ctx, { username: u.username, password: u.password, ip: null, userAgent: null });
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.error.code).toBe('throttled');
	});

	it('expires a session after the idle timeout and slides while in use', async () => {
		const u = await makeUser(ctx);
		const t0 = new Date('2026-11-23T08:00:00Z');
		ctx.setNow(t0);
		const { token } = await createSession(ctx, { userId: u.id, ip: null, userAgent: null });
		const idle = ctx.config.sessionIdleTimeoutMs;
		ctx.setNow(new Date(t0.getTime() + idle - 60_000));
		expect(await validateSessionToken(ctx, token)).toBeDefined();
		// Used just now: the idle window starts again from here.
		ctx.setNow(new Date(t0.getTime() + 2 * idle - 120_000));
		expect(await validateSessionToken(ctx, token)).toBeDefined();
		ctx.setNow(new Date(t0.getTime() + 3 * idle));
		expect(await validateSessionToken(ctx, token)).toBeUndefined();
		ctx.setNow(null);
	});

	it('validates sessions asked together in one query, and slides their idle timeout in one more', async () => {
		const people = [await makeUser(ctx), await makeUser(ctx), await makeUser(ctx)];
		const t0 = new Date('2026-11-23T08:00:00Z');
		ctx.setNow(t0);
		const made = await Promise.all(
			Array.from({ length: 12 }, (_, i) => createSession(ctx, { userId: people[i % 3]!.id, ip: null, userAgent: null }))
		);
		// Two minutes on: every session is due for its once-a-minute touch.
		const later = new Date(t0.getTime() + 120_000);
		ctx.setNow(later);
		const counted = countingDb(ctx.db);
		const storm = { ...ctx, db: counted.db };
		const unknown = `${'a'.repeat(24)}.${'b'.repeat(24)}`;
		const [forged, ...valid] = await Promise.all([
			validateSessionToken(storm, `${made[0]!.session.id}.${'c'.repeat(24)}`),
			...made.map((m) => validateSessionToken(storm, m.token)),
			validateSessionToken(storm, unknown)
		]);
		expect(forged).toBeUndefined();
		expect(valid.map((v) => v?.user.id)).toEqual([...made.map((_, i) => people[i % 3]!.id), undefined]);
		// The touch does not hold the answers up: it is written after them, in one statement.
		await waitFor(() => counted.queries.length === 2, 'the touch');
		expect(counted.queries).toEqual(['select', 'update']);
		for (const m of made) expect((await sessionsRepo.findWithUser(ctx.db, m.session.id))!.session.last_seen_at).toEqual(later);
		// Cached copies moved with it: asking again within the minute writes nothing more.
		await Promise.all(made.map((m) => validateSessionToken(storm, m.token)));
		await new Promise((r) => setTimeout(r, 50));
		expect(counted.queries).toEqual(['select', 'update']);
		ctx.setNow(null);
	});

	it('expires a session at the absolute timeout however active it is', async () => {
		const u = await makeUser(ctx);
		const t0 = new Date('2026-11-23T08:00:00Z');
		ctx.setNow(t0);
		const { token } = await createSession(ctx, { userId: u.id, ip: null, userAgent: null });
		const step = ctx.config.sessionIdleTimeoutMs / 2;
		let now = t0.getTime();
		while (now + step < t0.getTime() + ctx.config.sessionAbsoluteTimeoutMs) {
			now += step;
			ctx.setNow(new Date(now));
			expect(await validateSessionToken(ctx, token)).toBeDefined();
		}
		ctx.setNow(new Date(t0.getTime() + ctx.config.sessionAbsoluteTimeoutMs + 1000));
		expect(await validateSessionToken(ctx, token)).toBeUndefined();
		ctx.setNow(null);
	});

	it('ends the session on logout and announces it to open sockets', async () => {
		const u = await makeUser(ctx);
		const r = await login(ctx, { username: u.username, password: u.password, ip: null, userAgent: null });
		if (!r.ok) throw new Error('login failed');
		const ended: string[] = [];
		const off = ctx.events.subscribe((e) => e.type === 'sessions.ended' && Array.isArray(e.sessionIds) && ended.push(...e.sessionIds));
		// Validated (and so kept in memory) just before: logging out must still end it at once.
		expect(await validateSessionToken(ctx, r.value.token)).toBeDefined();
		await logout(ctx, r.value.session);
		off();
		expect(await validateSessionToken(ctx, r.value.token)).toBeUndefined();
		expect(ended).toContain(r.value.session.id);
	});

	it('ends every session of a user who is disabled or whose password changes', async () => {
		const admin = await makeUser(ctx, { role: 'admin' });
		const u = await makeUser(ctx);
		const a = await createSession(ctx, { userId: u.id, ip: null, userAgent: null });
		const b = await createSession(ctx, { userId: u.id, ip: null, userAgent: null });
		expect(await validateSessionToken(ctx, a.token)).toBeDefined();
		expect(await validateSessionToken(ctx, b.token)).toBeDefined();
		const changed = await updateUser(ctx, admin.actor, { userId: u.id, input: { password: 'a-brand-new-password' } });
		expect(changed.ok).toBe(true);
		expect(await validateSessionToken(ctx, a.token)).toBeUndefined();
		expect(await validateSessionToken(ctx, b.token)).toBeUndefined();

		const c = await createSession(ctx, { userId: u.id, ip: null, userAgent: null });
		expect(await validateSessionToken(ctx, c.token)).toBeDefined();
		await updateUser(ctx, SYSTEM_ACTOR, { userId: u.id, input: { disabled: true } });
		expect(await validateSessionToken(ctx, c.token)).toBeUndefined();
		const again = await login(ctx, { username: u.username, password: 'a-brand-new-password', ip: null, userAgent: null });
		expect(again.ok).toBe(false);
	});

	it('sees a role or preference change on the very next request, though sessions are kept in memory for a few seconds', async () => {
		const u = await makeUser(ctx, { role: 'responder' });
		const { token } = await createSession(ctx, { userId: u.id, ip: null, userAgent: null });
		expect((await validateSessionToken(ctx, token))?.user.global_role).toBe('responder');
		expect((await updateUser(ctx, SYSTEM_ACTOR, { userId: u.id, input: { globalRole: 'viewer' } })).ok).toBe(true);
		expect((await validateSessionToken(ctx, token))?.user.global_role).toBe('viewer');
		const tz = await updateOwnPreferences(ctx, { ...u.actor, globalRole: 'viewer' }, { locale: 'en', timeZone: 'Europe/London' });
		expect(tz.ok).toBe(true);
		const after = await validateSessionToken(ctx, token);
		expect([after?.user.locale, after?.user.time_zone]).toEqual(['en', 'Europe/London']);
	});
});
