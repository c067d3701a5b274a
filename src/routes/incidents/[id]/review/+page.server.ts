import { getApp } from '$lib/server/app';
import { failForm, raise, requireActor } from '$lib/server/http';
import { createActionItem, updateActionItem } from '$lib/server/services/action-item.service';
import { changeStatus, getIncident } from '$lib/server/services/incident.service';
import {
	getReview,
	getReviewVersion,
	type ReviewContent,
	publishReview,
	refreshFacts,
	returnReview,
	reviseReview,
	submitReview,
	waiveReview
} from '$lib/server/services/review.service';
import { listUsers } from '$lib/server/services/users.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await getReview(ctx, actor, { incidentId: event.params.id });
	if (!r.ok) {
		if (r.error.code !== 'not_resolved') raise(r.error);
		const inc = await getIncident(ctx, actor, event.params.id);
		if (!inc.ok) raise(inc.error);
		return {
			notResolved: true as const,
			incident: { id: inc.value.id, number: inc.value.number, title: inc.value.title, status: inc.value.status }
		};
	}
	const v = r.value;
	// ?version=N shows a published version as it was signed off.
	const asked = event.url.searchParams.get('version');
	let shown: { version: number; content: ReviewContent; hash: string } | null = null;
	if (asked) {
		const got = await getReviewVersion(ctx, actor, { incidentId: v.incidentId, version: asked });
		if (!got.ok) raise(got.error);
		shown = { version: got.value.version, content: got.value.content, hash: got.value.hash };
	}
	const inc = await getIncident(ctx, actor, v.incidentId);
	if (!inc.ok) raise(inc.error);
	// The owner picker only for those who may manage action items.
	const users = v.allowed.manageItems ? await listUsers(ctx, actor) : null;
	return {
		notResolved: false as const,
		incident: {
			id: inc.value.id,
			number: inc.value.number,
			title: inc.value.title,
			status: inc.value.status,
			version: inc.value.version,
			mayClose: inc.value.nextStatuses.includes('closed')
		},
		review: {
			state: v.state,
			version: v.version,
			rowVersion: v.rowVersion,
			facts: v.facts,
			narrative: v.narrative,
			published: v.published,
			versions: v.versions,
			actionItems: v.actionItems,
			submittedAt: v.submittedAt,
			signedOff: v.signedOff,
			waiver: v.waiver,
			allowed: v.allowed
		},
		shown,
		people: users?.ok ? users.value.filter((u) => !u.disabled).map((u) => ({ id: u.id, label: `${u.display_name} (${u.username})` })) : [],
		currentUser: { id: actor.userId!, name: actor.displayName }
	};
};

type Outcome = { ok: true } | { ok: false; error: { code: string; message: string } };

async function run(
	event: Parameters<Actions[string]>[0],
	done: string,
	fn: (
		ctx: Awaited<ReturnType<typeof getApp>>['ctx'],
		actor: ReturnType<typeof requireActor>,
		form: Record<string, string>
	) => Promise<Outcome>
) {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const form: Record<string, string> = {};
	for (const [k, v] of await event.request.formData()) if (typeof v === 'string') form[k] = v;
	const r = await fn(ctx, actor, form);
	if (!r.ok) return failForm(r.error as Parameters<typeof failForm>[0], { ...form, action: done });
	return { done };
}

const step = (name: string, fn: typeof submitReview) => (e: Parameters<Actions[string]>[0]) =>
	run(e, name, async (ctx, a, f) => {
		const r = await fn(ctx, a, { incidentId: e.params.id, expectedVersion: f.rowVersion });
		return r.ok ? { ok: true } : r;
	});

export const actions: Actions = {
	refresh: step('refresh', refreshFacts),
	submit: step('submit', submitReview),
	return: step('return', returnReview),
	publish: step('publish', publishReview),
	revise: step('revise', reviseReview),
	// Closing once the review is published (the incident service decides whether that suffices).
	close: (e) =>
		run(e, 'close', async (ctx, a, f) => {
			const r = await changeStatus(ctx, a, { incidentId: e.params.id, to: 'closed', expectedVersion: f.version });
			return r.ok ? { ok: true } : r;
		}),
	// The waiver is recorded with the review first, then the incident is closed on the same reason.
	waive: (e) =>
		run(e, 'waive', async (ctx, a, f) => {
			const w = await waiveReview(ctx, a, { incidentId: e.params.id, reason: f.reason });
			if (!w.ok) return w;
			const r = await changeStatus(ctx, a, { incidentId: e.params.id, to: 'closed', waiverReason: f.reason, expectedVersion: f.version });
			return r.ok ? { ok: true } : r;
		}),
	addItem: (e) =>
		run(e, 'addItem', async (ctx, a, f) => {
			const r = await createActionItem(ctx, a, {
				incidentId: e.params.id,
				input: { title: f.title, ownerId: f.ownerId ?? '', dueDate: f.dueDate ?? '', type: f.type, link: f.link ?? '' }
			});
			return r.ok ? { ok: true } : r;
		}),
	updateItem: (e) =>
		run(e, 'updateItem', async (ctx, a, f) => {
			const r = await updateActionItem(ctx, a, { id: f.id, input: { status: f.status }, expectedVersion: f.version });
			return r.ok ? { ok: true } : r;
		})
};
