import { error } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { getSharedBoard } from '$lib/server/services/board.service';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { ctx } = await getApp();
	const r = await getSharedBoard(ctx, event.params.token, { window: event.url.searchParams.get('window') });
	// Unknown, expired and revoked links all look the same: a plain 404.
	if (!r.ok) error(404, { message: 'This link is unknown, has expired or was revoked', code: 'share_not_found' });
	// A share link is a secret in the address: keep it out of caches and out of other sites' referrers.
	event.setHeaders({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-robots-tag': 'noindex' });
	return { link: r.value.link, board: r.value.board };
};
