import { getApp } from '$lib/server/app';
import { changeStatusApi } from '$lib/server/api/incidents.api';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ request, locals, params }) =>
	changeStatusApi({ ctx: (await getApp()).ctx, request, sessionActor: locals.actor, id: params.id });
