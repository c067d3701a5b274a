/**
 * The signed-in user's notifications as Server-Sent Events (the bell and the notification centre
 * listen here). The browser's EventSource reconnects by itself and sends `Last-Event-ID`; a first
 * connection may pass `?lastEventId=` to pick up from what its page already showed.
 */
import { json } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { statusOf } from '$lib/server/http';
import { notificationStreamsSignal } from '$lib/server/notify/module';
import { openStream } from '$lib/server/services/notification.service';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ locals, request, url }) => {
	// An API answer, not a redirect to the login page: EventSource cannot follow one usefully.
	if (!locals.actor) return json({ code: 'unauthenticated', message: 'Sign in to receive notifications' }, { status: 401 });
	const { ctx } = await getApp();
	const r = openStream(ctx, locals.actor, {
		lastEventId: request.headers.get('last-event-id') ?? url.searchParams.get('lastEventId'),
		// Ends with the client's connection, or when the app shuts down so the server can drain.
		signal: AbortSignal.any([request.signal, notificationStreamsSignal()])
	});
	if (!r.ok) return json({ code: r.error.code, message: r.error.message }, { status: statusOf(r.error) });
	return new Response(r.value, {
		headers: {
			'content-type': 'text/event-stream; charset=utf-8',
			'cache-control': 'no-store, no-transform',
			// nginx and similar proxies would otherwise buffer the stream and deliver nothing live.
			'x-accel-buffering': 'no'
		}
	});
};
