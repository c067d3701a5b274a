/**
 * Live updates for pages (incident list, war room, board): which app events a user may hear about.
 * Only ids and a kind go out; the page then reloads its data through the normal (authorised)
 * loads, so nothing restricted leaks through this channel — an event about an incident the user
 * cannot see is not sent at all.
 */
import type { Actor, AppContext } from '../context';
import type { AppEvent } from '../events';
import * as incidentsRepo from '../repositories/incidents.repository';
import { roomAccess } from './incident.service';

export interface LiveMessage {
	type: 'incident' | 'board' | 'notification';
	incidentId?: string;
}

const HEARTBEAT_MS = 25_000;
/** How long one lookup of an incident's restricted flag serves every open stream. */
const RESTRICTED_MEMO_MS = 2_000;

// One event fans out to every open stream; look the incident up once, not once per stream.
const memo = new WeakMap<AppContext, Map<string, { at: number; restricted: Promise<boolean | undefined> }>>();
function restrictedFlag(ctx: AppContext, incidentId: string): Promise<boolean | undefined> {
	let m = memo.get(ctx);
	if (!m) memo.set(ctx, (m = new Map()));
	const now = Date.now();
	const hit = m.get(incidentId);
	if (hit && now - hit.at < RESTRICTED_MEMO_MS) return hit.restricted;
	const restricted = incidentsRepo.findById(ctx.db, incidentId).then((row) => row?.restricted);
	m.set(incidentId, { at: now, restricted });
	for (const [k, v] of m) if (now - v.at > RESTRICTED_MEMO_MS) m.delete(k);
	return restricted;
}

/** Every signed-in user may see a non-restricted incident; only restricted ones need the per-user check. */
async function mayHear(ctx: AppContext, userId: string, incidentId: string): Promise<boolean> {
	const restricted = await restrictedFlag(ctx, incidentId);
	if (restricted === undefined) return false;
	if (!restricted) return true;
	return (await roomAccess(ctx, { userId, incidentId })) !== 'none';
}

export function subscribeLive(ctx: AppContext, actor: Actor, send: (m: LiveMessage) => void): () => void {
	const userId = actor.userId;
	const off = ctx.events.subscribe((e: AppEvent) => {
		void (async () => {
			if (e.type === 'notification.created') {
				if (e.userId === userId) send({ type: 'notification' });
				return;
			}
			const incidentId =
				e.type === 'incident.changed' || e.type === 'membership.changed'
					? e.incidentId
					: e.type === 'board.changed'
						? e.incidentId
						: undefined;
			if (e.type !== 'incident.changed' && e.type !== 'membership.changed' && e.type !== 'board.changed') return;
			if (incidentId && (!userId || !(await mayHear(ctx, userId, incidentId)))) return;
			send({ type: e.type === 'board.changed' ? 'board' : 'incident', incidentId: incidentId ?? undefined });
		})().catch((error: unknown) => {
			// A failed visibility check drops that one message; the page still refreshes on the next.
			process.stderr.write(JSON.stringify({ level: 'warn', msg: 'live event dropped', error: String(error) }) + '\n');
		});
	});
	return off;
}

/** A text/event-stream response that forwards live messages until the client goes away. */
export function liveStream(ctx: AppContext, actor: Actor, signal: AbortSignal): ReadableStream<Uint8Array> {
	const enc = new TextEncoder();
	let off: (() => void) | undefined;
	let timer: ReturnType<typeof setInterval> | undefined;
	return new ReadableStream<Uint8Array>({
		start(controller) {
			const write = (s: string) => {
				try {
					controller.enqueue(enc.encode(s));
				} catch {
					// The stream is already closed (client gone): stop quietly.
					cleanup();
				}
			};
			const cleanup = () => {
				off?.();
				if (timer) clearInterval(timer);
				off = undefined;
			};
			write('retry: 2000\n\n');
			off = subscribeLive(ctx, actor, (m) => write(`event: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`));
			timer = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
			signal.addEventListener('abort', () => {
				cleanup();
				try {
					controller.close();
				} catch {
					// Already closed.
				}
			});
		},
		cancel() {
			off?.();
			if (timer) clearInterval(timer);
		}
	});
}
