/**
 * node-cron's `runCoordinator` backed by the `job_leases` table: each cron slot of a job runs on one
 * node only, on PostgreSQL (several processes) and on PGlite (one process, where it still keeps a
 * slow tick from overlapping the next one).
 *
 * node-cron calls `shouldRun(key, ttlMs)` with `key = "<task name>:<slot ISO>"` before each scheduled
 * run and `onComplete(key)` after it. The lease row stores the slot, so a node whose timer fires a
 * little late for a slot another node already ran does not run it again; and the lease's `until`
 * stops a second node from starting the next slot while a slow tick still holds it.
 */
import type { RunCoordinator } from 'node-cron';
import type { AppContext } from '../context';
import * as escalationRepo from '../repositories/escalation.repository';

/** Split node-cron's key into the job name and the slot (names never contain ':' — see registry). */
export function parseCoordinatorKey(key: string): { name: string; slot: Date } {
	const i = key.indexOf(':');
	if (i <= 0) throw new Error(`job lease: malformed coordinator key ${JSON.stringify(key)}`);
	const slot = new Date(key.slice(i + 1));
	if (Number.isNaN(slot.getTime())) throw new Error(`job lease: the coordinator key ${JSON.stringify(key)} has no slot time`);
	return { name: key.slice(0, i), slot };
}

export function leaseCoordinator(ctx: AppContext, opts: { holderId: string }): RunCoordinator {
	return {
		async shouldRun(key, ttlMs) {
			const { name, slot } = parseCoordinatorKey(key);
			// Lease times come from the wall clock, not ctx.now(): a lease is about real elapsed time
			// between real processes, and a test's fixed clock must not keep a lease alive forever.
			const now = new Date();
			return escalationRepo.tryTakeLease(ctx.db, { name, holder: opts.holderId, slot, until: new Date(now.getTime() + ttlMs), now });
		},
		async onComplete(key) {
			const { name } = parseCoordinatorKey(key);
			await escalationRepo.releaseLease(ctx.db, { name, holder: opts.holderId, now: new Date() });
		}
	};
}
