import { json } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { ping } from '$lib/server/db/index';

export async function GET() {
	const app = await getApp();
	const database = await ping(app.ctx.db);
	return json(
		{
			status: database ? 'ok' : 'degraded',
			database: { reachable: database, kind: app.database.kind },
			version: app.version,
			uptimeSeconds: Math.round((Date.now() - app.startedAt.getTime()) / 1000)
		},
		{ status: database ? 200 : 503, headers: { 'cache-control': 'no-store' } }
	);
}
