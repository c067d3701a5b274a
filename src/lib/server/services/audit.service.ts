/**
 * The append-only, hash-chained audit log. Each event stores the hash of the one before it, so
 * changing or removing any stored event breaks every link after it; `verifyChain` finds the first.
 * Appends happen inside the caller's transaction (the fact and its audit event commit together),
 * serialised by an advisory lock so two processes cannot fork the chain.
 */
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import type { Transaction } from 'kysely';
import type { Db } from '../db/index';
import type { AuditEventRow, Database } from '../db/schema';
import * as auditRepo from '../repositories/audit.repository';
import * as usersRepo from '../repositories/users.repository';
import { err, ok, type Result } from '../../domain/result';
import type { Actor, AppContext } from '../context';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
	actorId: string | null;
	action: string;
	subjectType: string;
	subjectId?: string | null;
	before?: unknown;
	after?: unknown;
	at?: Date;
}

/** JSON with object keys sorted at every depth, so the same value always hashes the same. */
export function canonicalJson(value: unknown): string {
	if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
	if (Array.isArray(value)) return '[' + value.map((v) => canonicalJson(v === undefined ? null : v)).join(',') + ']';
	const obj = value as Record<string, unknown>;
	const keys = Object.keys(obj)
		.filter((k) => obj[k] !== undefined)
		.sort();
	return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(obj[k])).join(',') + '}';
}

/** Normalise to what a JSON column gives back (Dates become strings, undefined disappears). */
function normalise(value: unknown): unknown {
	return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

export function eventHash(e: {
	id: string;
	at: Date;
	actorId: string | null;
	action: string;
	subjectType: string;
	subjectId: string | null;
	before: unknown;
	after: unknown;
	prevHash: string;
}): string {
	const payload = canonicalJson({
		id: e.id,
		at: e.at.toISOString(),
		actorId: e.actorId,
		action: e.action,
		subjectType: e.subjectType,
		subjectId: e.subjectId,
		before: e.before ?? null,
		after: e.after ?? null,
		prevHash: e.prevHash
	});
	return encodeHexLowerCase(sha256(new TextEncoder().encode(payload)));
}

export async function record(trx: Transaction<Database>, input: AuditInput): Promise<string> {
	await auditRepo.lockChain(trx);
	const prev = await auditRepo.last(trx);
	const at = input.at ?? new Date();
	const id = crypto.randomUUID();
	const before = normalise(input.before);
	const after = normalise(input.after);
	const prevHash = prev?.hash ?? GENESIS_HASH;
	const hash = eventHash({
		id,
		at,
		actorId: input.actorId,
		action: input.action,
		subjectType: input.subjectType,
		subjectId: input.subjectId ?? null,
		before,
		after,
		prevHash
	});
	await auditRepo.insert(trx, {
		id,
		at,
		actor_id: input.actorId,
		action: input.action,
		subject_type: input.subjectType,
		subject_id: input.subjectId ?? null,
		before: before === null ? null : JSON.stringify(before),
		after: after === null ? null : JSON.stringify(after),
		prev_hash: prevHash,
		hash
	});
	return hash;
}

/** Convenience for a use case whose only write is the audit event itself. */
export async function recordNow(db: Db, input: AuditInput): Promise<string> {
	return db.transaction().execute((trx) => record(trx, input));
}

export type ChainVerification =
	{ ok: true; events: number } | { ok: false; events: number; brokenAt: { seq: string; id: string; reason: string } };

function rowHash(row: AuditEventRow): string {
	return eventHash({
		id: row.id,
		at: row.at,
		actorId: row.actor_id,
		action: row.action,
		subjectType: row.subject_type,
		subjectId: row.subject_id,
		before: row.before,
		after: row.after,
		prevHash: row.prev_hash
	});
}

export async function verifyChain(db: Db, pageSize = 1000): Promise<ChainVerification> {
	let expectedPrev = GENESIS_HASH;
	let afterSeq = '0';
	let events = 0;
	for (;;) {
		const rows = await auditRepo.page(db, { afterSeq, limit: pageSize });
		for (const row of rows) {
			events++;
			if (row.prev_hash !== expectedPrev)
				return {
					ok: false,
					events,
					brokenAt: {
						seq: String(row.seq),
						id: row.id,
						reason: 'prev_hash does not match the previous event (an event was removed or reordered)'
					}
				};
			if (rowHash(row) !== row.hash)
				return {
					ok: false,
					events,
					brokenAt: { seq: String(row.seq), id: row.id, reason: 'hash does not match the event content (the event was altered)' }
				};
			expectedPrev = row.hash;
		}
		if (rows.length < pageSize) return { ok: true, events };
		afterSeq = String(rows[rows.length - 1]!.seq);
	}
}

/** The newest events for the admin audit page (admins only), with the actor's username. */
export async function recentEvents(
	ctx: AppContext,
	actor: Actor,
	limit: number
): Promise<Result<{ seq: string; at: Date; actor: string | null; action: string; subjectType: string; subjectId: string | null }[]>> {
	if (actor.globalRole !== 'admin') return err({ code: 'forbidden', message: 'Administrators only' });
	const rows = await auditRepo.recent(ctx.db, limit);
	const names = new Map((await usersRepo.list(ctx.db)).map((u) => [u.id, u.username]));
	return ok(
		rows.map((r) => ({
			seq: String(r.seq),
			at: r.at,
			actor: r.actor_id ? (names.get(r.actor_id) ?? r.actor_id) : null,
			action: r.action,
			subjectType: r.subject_type,
			subjectId: r.subject_id
		}))
	);
}
