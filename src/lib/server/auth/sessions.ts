/**
 * Sessions (the Lucia recipe): a new session on every login, validated on every request by id
 * lookup + constant-time secret check, with an idle timeout that slides and an absolute timeout
 * that does not. Deleting the row ends the session everywhere (and open sockets, via the bus).
 */
import type DataLoader from 'dataloader';
import { setBounded } from '../bounded-map';
import type { AppContext } from '../context';
import { batchLoader } from '../db/batch';
import { log } from '../log';
import type { SessionRow, UserRow } from '../db/schema';
import * as sessionsRepo from '../repositories/sessions.repository';
import { newToken, parseToken, secretMatches } from './tokens';

export const SESSION_COOKIE = 'warroom_session';
/** Don't write last_seen_at on every request: once a minute is precise enough for an idle timeout of hours. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * A validated session and its user are kept in memory for a few seconds: every page, API call and
 * board request starts with this lookup. The entry is dropped at once when the session ends or the
 * user changes (the services publish `sessions.ended` / `user.changed`; with PostgreSQL the relay
 * brings other processes' events, and `events.missed` empties the cache), and the secret, the
 * timeouts and the disabled flag are checked on every request as before.
 */
export const SESSION_CACHE_MS = 5_000;
const SESSION_CACHE_MAX = 10_000;

interface CachedSession {
	at: number;
	found: ValidSession;
}

interface SessionState {
	cache: Map<string, CachedSession>;
	/** Bumped by every session or user change: a lookup that overlapped one is used once, not kept. */
	generation: number;
	/** Lookups and touches asked together share one query (db/batch.ts). */
	find: DataLoader<string, ValidSession | undefined, string>;
	touch: DataLoader<string, Date, string>;
}

const states = new WeakMap<AppContext, SessionState>();

function stateOf(ctx: AppContext): SessionState {
	let state = states.get(ctx);
	if (!state) {
		const cache = new Map<string, CachedSession>();
		const fresh: SessionState = {
			cache,
			generation: 0,
			find: batchLoader(async (ids: readonly string[]) => {
				const found = await sessionsRepo.findManyWithUser(ctx.db, ids);
				return ids.map((id) => found.get(id));
			}),
			touch: batchLoader(async (ids: readonly string[]) => {
				const at = ctx.now();
				await sessionsRepo.touchMany(ctx.db, ids, at);
				return ids.map(() => at);
			})
		};
		state = fresh;
		states.set(ctx, fresh);
		ctx.events.subscribe((e) => {
			if (e.type !== 'sessions.ended' && e.type !== 'user.changed' && e.type !== 'events.missed') return;
			fresh.generation++;
			if (e.type === 'events.missed') cache.clear();
			else if (e.type === 'sessions.ended' && e.sessionIds !== 'all') for (const id of e.sessionIds) cache.delete(id);
			else for (const [id, c] of cache) if (c.found.user.id === e.userId) cache.delete(id);
		});
	}
	return state;
}

async function findSession(ctx: AppContext, id: string, fresh: boolean): Promise<ValidSession | undefined> {
	const state = stateOf(ctx);
	const { cache } = state;
	const hit = fresh ? undefined : cache.get(id);
	if (hit && Date.now() - hit.at < SESSION_CACHE_MS) return hit.found;
	const generation = state.generation;
	const found = await state.find.load(id);
	if (!found) {
		cache.delete(id);
		return undefined;
	}
	// A change published while the lookup ran may not be in its answer: use it once, keep nothing.
	if (generation === state.generation) {
		setBounded(cache, id, { at: Date.now(), found }, SESSION_CACHE_MAX);
	}
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

/**
 * The session and user behind a token, or undefined. `fresh` reads the database even when the session
 * is cached: a re-check after a change must not depend on whether the cache has heard of it yet (the
 * bus calls its subscribers in the order they subscribed).
 */
export async function validateSessionToken(
	ctx: AppContext,
	token: string | undefined | null,
	opts: { fresh?: boolean } = {}
): Promise<ValidSession | undefined> {
	const parsed = parseToken(token);
	if (!parsed) return undefined;
	const found = await findSession(ctx, parsed.id, opts.fresh ?? false);
	if (!found) return undefined;
	if (!secretMatches(parsed.secret, found.session.secret_hash)) return undefined;
	const now = ctx.now().getTime();
	const { session, user } = found;
	const idle = now - session.last_seen_at.getTime() > ctx.config.sessionIdleTimeoutMs;
	const tooOld = now - session.created_at.getTime() > ctx.config.sessionAbsoluteTimeoutMs;
	if (idle || tooOld || user.disabled) {
		stateOf(ctx).cache.delete(session.id);
		await sessionsRepo.remove(ctx.db, session.id);
		ctx.events.publish({ type: 'sessions.ended', userId: user.id, sessionIds: [session.id] });
		return undefined;
	}
	if (now - session.last_seen_at.getTime() > TOUCH_INTERVAL_MS) {
		// Slide the idle timeout without making the request wait for the write: the session is valid
		// either way, and a reconnect storm of tabs that were idle for a minute would otherwise wait for
		// a commit before any socket opens (bench/collab join storm). The cached copy moves at once, so
		// the requests that follow do not touch again; a failed touch leaves the row as it was, and the
		// first request after the cache entry expires (SESSION_CACHE_MS) tries again.
		session.last_seen_at = new Date(now);
		stateOf(ctx)
			.touch.load(session.id)
			.catch((error: unknown) => log.warn('sessions: sliding the idle timeout failed; the next request retries', { error }));
	}
	return { session, user };
}

export async function invalidateSession(ctx: AppContext, session: { id: string; user_id: string }): Promise<void> {
	stateOf(ctx).cache.delete(session.id);
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
