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
	/** When the change was published (ms since the epoch): lets a client (or a benchmark) see how late it heard. */
	at?: number;
}

const HEARTBEAT_MS = 25_000;
const KEEP_ALIVE = new TextEncoder().encode(': keep-alive\n\n');
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

type Send = (m: LiveMessage, frame: Uint8Array) => void;
interface Listener {
	userId: string | null;
	send: Send;
}

const encoder = new TextEncoder();
/** One bus subscription per context, fanning each event out to every open stream. */
const hubs = new WeakMap<AppContext, Set<Listener>>();

function hub(ctx: AppContext): Set<Listener> {
	let listeners = hubs.get(ctx);
	if (!listeners) {
		const fresh = new Set<Listener>();
		listeners = fresh;
		hubs.set(ctx, fresh);
		ctx.events.subscribe((e: AppEvent) => {
			dispatch(ctx, fresh, e).catch((error: unknown) => {
				// A failed visibility check drops that one message; the pages still refresh on the next.
				process.stderr.write(JSON.stringify({ level: 'warn', msg: 'live event dropped', error: String(error) }) + '\n');
			});
		});
	}
	return listeners;
}

const frameOf = (m: LiveMessage) => encoder.encode(`event: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`);

/**
 * One event, every stream: the message is encoded once and the incident's restricted flag read once;
 * only a restricted incident needs a per-user check (and only for the users listening).
 */
async function dispatch(ctx: AppContext, listeners: Set<Listener>, e: AppEvent): Promise<void> {
	const at = Date.now();
	if (e.type === 'notification.created') {
		const m: LiveMessage = { type: 'notification', at };
		const frame = frameOf(m);
		for (const l of listeners) if (l.userId === e.userId) l.send(m, frame);
		return;
	}
	if (e.type === 'events.missed') {
		// Other processes' changes may have been lost (event-relay.ts): every page reloads what it shows.
		const m: LiveMessage = { type: 'incident', at };
		const frame = frameOf(m);
		for (const l of listeners) l.send(m, frame);
		return;
	}
	if (e.type !== 'incident.changed' && e.type !== 'membership.changed' && e.type !== 'board.changed') return;
	const incidentId = e.incidentId ?? undefined;
	const m: LiveMessage = { type: e.type === 'board.changed' ? 'board' : 'incident', incidentId, at };
	const frame = frameOf(m);
	const targets = [...listeners];
	if (!incidentId) {
		for (const l of targets) l.send(m, frame);
		return;
	}
	const restricted = await restrictedFlag(ctx, incidentId);
	if (restricted === undefined) return;
	if (!restricted) {
		for (const l of targets) if (l.userId && listeners.has(l)) l.send(m, frame);
		return;
	}
	await Promise.all(
		targets.map(async (l) => {
			if (l.userId && (await roomAccess(ctx, { userId: l.userId, incidentId })) !== 'none' && listeners.has(l)) l.send(m, frame);
		})
	);
}

export function subscribeLive(ctx: AppContext, actor: Actor, send: Send): () => void {
	const listeners = hub(ctx);
	const listener: Listener = { userId: actor.userId ?? null, send };
	listeners.add(listener);
	return () => listeners.delete(listener);
}

/** A text/event-stream response that forwards live messages until the client goes away. */
export function liveStream(ctx: AppContext, actor: Actor, signal: AbortSignal): ReadableStream<Uint8Array> {
	let off: (() => void) | undefined;
	let timer: ReturnType<typeof setInterval> | undefined;
	return new ReadableStream<Uint8Array>({
		start(controller) {
			const write = (bytes: Uint8Array) => {
				try {
					controller.enqueue(bytes);
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
			write(encoder.encode('retry: 2000\n\n'));
			// Every stream gets the same bytes of a message: encoded once per event, not once per stream.
			off = subscribeLive(ctx, actor, (_m, frame) => write(frame));
			timer = setInterval(() => write(KEEP_ALIVE), HEARTBEAT_MS);
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
