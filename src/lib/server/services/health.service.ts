import { ping } from '../db/index';
import type { App } from '../app';

export interface Health {
	status: 'ok' | 'degraded';
	database: { reachable: boolean; kind: string };
	version: string;
	uptimeSeconds: number;
}

export async function health(app: App): Promise<Health> {
	const reachable = await ping(app.ctx.db);
	return {
		status: reachable ? 'ok' : 'degraded',
		database: { reachable, kind: app.database.kind },
		version: app.version,
		uptimeSeconds: Math.round((Date.now() - app.startedAt.getTime()) / 1000)
	};
}
