/**
 * Live updates for pages (incident list, war room, board): which app events a user may hear about.
 * Only ids and a kind go out; the page then reloads its data through the normal (authorised)
 * loads, so nothing restricted leaks through this channel — an event about an incident the user
 * cannot see is not sent at all.
 */
import type { Actor, AppContext } from '../context';
import type { AppEvent } from '../events';
import { roomAccess } from './incident.service';

export interface LiveMessage {
	type: 'incident' | 'board' | 'notification';
	incidentId?: string;
}

const HEARTBEAT_MS = 25_000;

export function subscribeLive(ctx: AppContext, actor: Actor, send: (m: LiveMessage) => void): () => void {
	const userId = actor.userId;
	const off = ctx.events.subscribe((e: AppEvent) => {
		void (async () => {
			if (e.type === 'notification.created') {
				if (e.userId === userId) send({ type: 'notification' });
				return;
			}
			const incidentId = e.type === 'incident.changed' || e.type === 'membership.changed' ? e.incidentId : e.type === 'board.changed' ? e.incidentId : undefined;
			if (e.type !== 'incident.changed' && e.type !== 'membership.changed' && e.type !== 'board.changed') return;
			if (incidentId && userId && (await roomAccess(ctx, { userId, incidentId })) === 'none') return;
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
