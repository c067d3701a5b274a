import { requireActor } from '$lib/server/http';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = (event) => {
	const actor = requireActor(event);
	return { name: actor.displayName };
};
