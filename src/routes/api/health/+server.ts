import { json } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { health, isLocalOperator } from '$lib/server/services/health.service';

export async function GET({ getClientAddress, request, locals }) {
	const detailed = locals.actor?.globalRole === 'admin' || isLocalOperator(getClientAddress(), request.headers);
	const h = await health(await getApp(), { detailed });
	return json(h, { status: h.status === 'ok' ? 200 : 503, headers: { 'cache-control': 'no-store' } });
}
