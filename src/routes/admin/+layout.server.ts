import { error } from '@sveltejs/kit';
import { requireActor } from '$lib/server/http';
import type { LayoutServerLoad } from './$types';

// Navigation only: every admin page's load and action checks the role again in its service.
export const load: LayoutServerLoad = (event) => {
	const actor = requireActor(event);
	if (actor.globalRole !== 'admin') error(403, { message: 'Administrators only', code: 'forbidden' });
	return {};
};
