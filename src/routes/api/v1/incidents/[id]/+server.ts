import { getApp } from '$lib/server/app';
import { getIncidentApi } from '$lib/server/api/incidents.api';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ request, locals, params }) =>
	getIncidentApi({ ctx: (await getApp()).ctx, request, sessionActor: locals.actor, id: params.id });
