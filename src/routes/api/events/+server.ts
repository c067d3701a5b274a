import { error } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { liveStream } from '$lib/server/services/live.service';

export async function GET({ locals, request }) {
	if (!locals.actor) error(401, { message: 'Sign in first', code: 'unauthenticated' });
	const { ctx } = await getApp();
	return new Response(liveStream(ctx, locals.actor, request.signal), {
		headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' }
	});
}
