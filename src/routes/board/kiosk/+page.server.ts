import { getApp } from '$lib/server/app';
import { raise, requireActor } from '$lib/server/http';
import { getBoard } from '$lib/server/services/board.service';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await getBoard(ctx, actor);
	if (!r.ok) raise(r.error);
	// The wall shows incidents and health only: history is for the desk, not a TV across the room.
	const { incidents, drills, health, generatedAt, warningLeadMs } = r.value;
	return { board: { incidents, drills, health, generatedAt, warningLeadMs } };
};
