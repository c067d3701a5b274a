import { json } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { health } from '$lib/server/services/health.service';

export async function GET() {
	const h = await health(await getApp());
	return json(h, { status: h.status === 'ok' ? 200 : 503, headers: { 'cache-control': 'no-store' } });
}
