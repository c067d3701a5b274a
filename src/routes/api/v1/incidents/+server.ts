import { getApp } from '$lib/server/app';
import { createIncidentApi, listIncidentsApi } from '$lib/server/api/incidents.api';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ request, locals }) =>
	listIncidentsApi({ ctx: (await getApp()).ctx, request, sessionActor: locals.actor });

export const POST: RequestHandler = async ({ request, locals }) =>
	createIncidentApi({ ctx: (await getApp()).ctx, request, sessionActor: locals.actor });
