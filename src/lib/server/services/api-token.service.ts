/**
 * API tokens for monitoring systems: created by admins (UI or CLI), shown once, stored as the
 * SHA-256 of the secret (same `id.secret` scheme as sessions), scoped, revocable. A token acts as a
 * chosen user: its permissions are that user's, narrowed to the token's scopes, so a token for a
 * responder can only propose while a token for a manager can declare.
 */
import { err, ok, type DomainError, type Result } from '../../domain/result';
import { newToken, parseToken, secretMatches } from '../auth/tokens';
import type { Actor, AppContext } from '../context';
import type { ApiTokenRow } from '../db/schema';
import * as tokensRepo from '../repositories/api-tokens.repository';
import * as usersRepo from '../repositories/users.repository';
import * as audit from './audit.service';
import { API_SCOPES, type ApiScope } from './incident.service';
import { actorFromUser, type ValidationFailure } from './users.service';
import { isError, text } from './validate';

export { API_SCOPES, type ApiScope };

/** Writing last_used_at on every call would turn each API read into a write; once a minute is enough. */
const LAST_USED_RESOLUTION_MS = 60_000;
export const TOKEN_NAME_MAX_CHARS = 100;

export interface ApiTokenView {
	id: string;
	name: string;
	scopes: string[];
	user: { id: string; username: string; displayName: string; disabled: boolean } | null;
	createdBy: { id: string; username: string } | null;
	createdAt: Date;
	lastUsedAt: Date | null;
	revokedAt: Date | null;
}

function requireAdmin(actor: Actor): DomainError | undefined {
	if (actor.kind === 'system' || actor.globalRole === 'admin') return undefined;
	return { code: 'forbidden', message: 'Only administrators can manage API tokens' };
}

function parseScopes(value: unknown): ApiScope[] | DomainError {
	const raw = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
	const scopes = [...new Set(raw.map((s) => (typeof s === 'string' ? s.trim() : s)).filter((s) => s !== ''))];
	const bad = scopes.find((s) => typeof s !== 'string' || !(API_SCOPES as readonly string[]).includes(s));
	if (bad !== undefined)
		return {
			code: 'invalid_value',
			message: `scopes must be taken from ${API_SCOPES.join(', ')} (got ${JSON.stringify(bad)})`,
			field: 'scopes'
		};
	if (scopes.length === 0) return { code: 'required', message: `choose at least one scope (${API_SCOPES.join(', ')})`, field: 'scopes' };
	return API_SCOPES.filter((s) => scopes.includes(s));
}

/**
 * Creates a token acting as `userId` (default: the admin). Returns the token string — the only time
 * it exists outside the caller's hands. When the CLI (system actor) creates one, the acting user is
 * recorded as its creator, since the system is nobody.
 */
export async function createApiToken(
	ctx: AppContext,
	actor: Actor,
	input: { name?: unknown; userId?: unknown; scopes?: unknown }
): Promise<Result<{ token: string; view: ApiTokenView }, ValidationFailure>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const errors: DomainError[] = [];
	const name = text('name', input.name, { required: true, max: TOKEN_NAME_MAX_CHARS });
	if (isError(name)) errors.push(name);
	const scopes = parseScopes(input.scopes);
	if (isError(scopes)) errors.push(scopes);
	const userId = typeof input.userId === 'string' && input.userId !== '' ? input.userId : actor.userId;
	const user = userId ? await usersRepo.findById(ctx.db, userId) : undefined;
	if (!user) errors.push({ code: 'not_found', message: 'userId does not name a user', field: 'userId' });
	else if (user.disabled) errors.push({ code: 'disabled', message: `${user.username} is disabled`, field: 'userId' });
	if (errors.length || !user || isError(scopes) || typeof name !== 'string')
		return err({ code: 'invalid', message: errors.map((e) => e.message).join('; '), errors });
	const t = newToken();
	const now = ctx.now();
	const createdBy = actor.userId ?? user.id;
	await ctx.db.transaction().execute(async (trx) => {
		await tokensRepo.insert(trx, { id: t.id, name, secret_hash: t.secretHash, scopes, user_id: user.id, created_by: createdBy });
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'api_token.create',
			subjectType: 'api_token',
			subjectId: t.id,
			// Never the secret or its hash.
			after: { id: t.id, name, scopes, userId: user.id },
			at: now
		});
	});
	const row = (await tokensRepo.findById(ctx.db, t.id))!;
	return ok({ token: t.token, view: (await views(ctx, [row]))[0]! });
}

async function views(ctx: AppContext, rows: ApiTokenRow[]): Promise<ApiTokenView[]> {
	const users = await usersRepo.listByIds(ctx.db, [...new Set(rows.flatMap((r) => [r.user_id, r.created_by]))]);
	const byId = new Map(users.map((u) => [u.id, u]));
	return rows.map((r) => {
		const u = byId.get(r.user_id);
		const c = byId.get(r.created_by);
		return {
			id: r.id,
			name: r.name,
			scopes: r.scopes,
			user: u ? { id: u.id, username: u.username, displayName: u.display_name, disabled: u.disabled } : null,
			createdBy: c ? { id: c.id, username: c.username } : null,
			// Generated<Timestamp> selects as the nested column type; the driver gives a Date.
			createdAt: r.created_at as unknown as Date,
			lastUsedAt: r.last_used_at,
			revokedAt: r.revoked_at
		};
	});
}

export async function listApiTokens(ctx: AppContext, actor: Actor): Promise<Result<ApiTokenView[]>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	return ok(await views(ctx, await tokensRepo.list(ctx.db)));
}

export async function revokeApiToken(ctx: AppContext, actor: Actor, opts: { tokenId: unknown }): Promise<Result<ApiTokenView>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const existing = typeof opts.tokenId === 'string' ? await tokensRepo.findById(ctx.db, opts.tokenId) : undefined;
	if (!existing) return err({ code: 'not_found', message: 'No such API token' });
	if (existing.revoked_at) return err({ code: 'conflict', message: 'The token is already revoked' });
	const now = ctx.now();
	const revoked = await ctx.db.transaction().execute(async (trx) => {
		const done = await tokensRepo.revoke(trx, existing.id, now);
		if (done)
			await audit.record(trx, {
				actorId: actor.userId,
				action: 'api_token.revoke',
				subjectType: 'api_token',
				subjectId: existing.id,
				before: { revokedAt: null },
				after: { revokedAt: now },
				at: now
			});
		return done;
	});
	if (!revoked) return err({ code: 'conflict', message: 'The token is already revoked' });
	return ok((await views(ctx, [(await tokensRepo.findById(ctx.db, existing.id))!]))[0]!);
}

const UNAUTHENTICATED = (message: string): DomainError => ({ code: 'unauthenticated', message });

/**
 * `Authorization: Bearer <id.secret>` → the acting user with the token's scopes. Every failure is
 * `unauthenticated` with a reason an integrator can act on, but never one that tells a guesser
 * whether a token id exists (unknown id and wrong secret read the same).
 */
export async function authenticateBearer(ctx: AppContext, header: string | null | undefined): Promise<Result<Actor>> {
	if (!header) return err(UNAUTHENTICATED('Authorization header missing: send Authorization: Bearer <token>'));
	const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
	if (!m) return err(UNAUTHENTICATED('Authorization must be "Bearer <token>"'));
	const parsed = parseToken(m[1]);
	if (!parsed) return err(UNAUTHENTICATED('The token is malformed'));
	const row = await tokensRepo.findById(ctx.db, parsed.id);
	if (!row || !secretMatches(parsed.secret, row.secret_hash)) return err(UNAUTHENTICATED('The token is not valid'));
	if (row.revoked_at) return err(UNAUTHENTICATED('The token has been revoked'));
	const user = await usersRepo.findById(ctx.db, row.user_id);
	if (!user || user.disabled) return err(UNAUTHENTICATED("The token's user is disabled"));
	const now = ctx.now();
	if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > LAST_USED_RESOLUTION_MS)
		await tokensRepo.markUsed(ctx.db, row.id, now);
	return ok({ ...actorFromUser(user), scopes: [...row.scopes] });
}
