/**
 * Sessions (the Lucia recipe): a new session on every login, validated on every request by id
 * lookup + constant-time secret check, with an idle timeout that slides and an absolute timeout
 * that does not. Deleting the row ends the session everywhere (and open sockets, via the bus).
 */
import type { AppContext } from '../context';
import type { SessionRow, UserRow } from '../db/schema';
import * as sessionsRepo from '../repositories/sessions.repository';
import { newToken, parseToken, secretMatches } from './tokens';

export const SESSION_COOKIE = 'warroom_session';
/** Don't write last_seen_at on every request: once a minute is precise enough for an idle timeout of hours. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * A validated session and its user are kept in memory for a few seconds: every page, API call and
 * board request starts with this lookup. The entry is dropped at once when the session ends or the
 * user changes (the services publish `sessions.ended` / `user.changed`; with PostgreSQL the bus
 * relays them between processes), and the secret, the timeouts and the disabled flag are checked on
 * every request as before.
 */
const SESSION_CACHE_MS = 5_000;
const SESSION_CACHE_MAX = 10_000;

interface CachedSession {
	at: number;
	found: ValidSession;
}

const sessionCaches = new WeakMap<AppContext, Map<string, CachedSession>>();

function sessionCache(ctx: AppContext): Map<string, CachedSession> {
	let cache = sessionCaches.get(ctx);
	if (!cache) {
		const fresh = new Map<string, CachedSession>();
		cache = fresh;
		sessionCaches.set(ctx, fresh);
		ctx.events.subscribe((e) => {
			if (e.type === 'sessions.ended' && e.sessionIds !== 'all') for (const id of e.sessionIds) fresh.delete(id);
			else if (e.type === 'sessions.ended' || e.type === 'user.changed') {
				for (const [id, c] of fresh) if (c.found.user.id === e.userId) fresh.delete(id);
			}
		});
	}
	return cache;
}

async function findSession(ctx: AppContext, id: string): Promise<ValidSession | undefined> {
	const cache = sessionCache(ctx);
	const now = Date.now();
	const hit = cache.get(id);
	if (hit && now - hit.at < SESSION_CACHE_MS) return hit.found;
	const found = await sessionsRepo.findWithUser(ctx.db, id);
	if (!found) {
		cache.delete(id);
		return undefined;
	}
	if (cache.size >= SESSION_CACHE_MAX) cache.clear();
	cache.set(id, { at: now, found });
	return found;
}

export interface ValidSession {
	session: SessionRow;
	user: UserRow;
}

export async function createSession(
	ctx: AppContext,
	opts: { userId: string; ip: string | null; userAgent: string | null }
): Promise<{ token: string; session: SessionRow }> {
	const t = newToken();
	const now = ctx.now();
	const session: SessionRow = {
		id: t.id,
		secret_hash: t.secretHash,
		user_id: opts.userId,
		created_at: now,
		last_seen_at: now,
		ip: opts.ip,
		user_agent: opts.userAgent?.slice(0, 300) ?? null
	};
	await sessionsRepo.insert(ctx.db, session);
	return { token: t.token, session };
}

export async function validateSessionToken(ctx: AppContext, token: string | undefined | null): Promise<ValidSession | undefined> {
	const parsed = parseToken(token);
	if (!parsed) return undefined;
	const found = await findSession(ctx, parsed.id);
	if (!found) return undefined;
	if (!secretMatches(parsed.secret, found.session.secret_hash)) return undefined;
	const now = ctx.now().getTime();
	const { session, user } = found;
	const idle = now - session.last_seen_at.getTime() > ctx.config.sessionIdleTimeoutMs;
	const tooOld = now - session.created_at.getTime() > ctx.config.sessionAbsoluteTimeoutMs;
	if (idle || tooOld || user.disabled) {
		sessionCache(ctx).delete(session.id);
		await sessionsRepo.remove(ctx.db, session.id);
		ctx.events.publish({ type: 'sessions.ended', userId: user.id, sessionIds: [session.id] });
		return undefined;
	}
	if (now - session.last_seen_at.getTime() > TOUCH_INTERVAL_MS) {
		session.last_seen_at = new Date(now);
		await sessionsRepo.touch(ctx.db, session.id, session.last_seen_at);
	}
	return { session, user };
}

export async function invalidateSession(ctx: AppContext, session: { id: string; user_id: string }): Promise<void> {
	sessionCache(ctx).delete(session.id);
	await sessionsRepo.remove(ctx.db, session.id);
	ctx.events.publish({ type: 'sessions.ended', userId: session.user_id, sessionIds: [session.id] });
}

export async function invalidateUserSessions(ctx: AppContext, userId: string): Promise<void> {
	await sessionsRepo.removeForUser(ctx.db, userId);
	ctx.events.publish({ type: 'sessions.ended', userId, sessionIds: 'all' });
}

/** Cookie expiry: the absolute limit; the idle limit is enforced on the server. */
export function sessionCookieOptions(ctx: AppContext, opts: { secure: boolean; createdAt: Date }) {
	return {
		path: '/',
		httpOnly: true,
		sameSite: 'lax' as const,
		secure: opts.secure,
		expires: new Date(opts.createdAt.getTime() + ctx.config.sessionAbsoluteTimeoutMs)
	};
}
