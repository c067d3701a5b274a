import { redirect, type RequestEvent } from '@sveltejs/kit';
import type { DomainError, Result } from '$lib/domain/result';
import { getApp } from '$lib/server/app';
import { failForm, formValues, raise, requireActor } from '$lib/server/http';
import { recordDeviation, loadIntoIncident, tickStep } from '$lib/server/services/playbook.service';
import { actionItemFromDeviation, incidentForRun, playbookRuns, startDrill } from '$lib/server/services/playbook-run.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await playbookRuns(ctx, actor, { incidentId: event.params.id });
	if (!r.ok) raise(r.error);
	const { incident: i, suggestions, runs, checklist, deviations } = r.value;
	return {
		incident: {
			id: i.id,
			number: i.number,
			title: i.title,
			priority: i.priority,
			status: i.status,
			drill: i.drill,
			restricted: i.restricted
		},
		allowed: {
			load: i.allowed.load_playbook,
			tick: i.allowed.tick_checklist,
			actionItems: i.allowed.manage_action_items,
			declare: actor.globalRole === 'admin' || actor.globalRole === 'manager'
		},
		suggestions,
		runs,
		checklist,
		deviations,
		members: i.members.map((m) => ({ userId: m.userId, displayName: m.displayName, role: m.role })),
		currentUser: { id: actor.userId!, name: actor.displayName },
		serverNow: ctx.now().toISOString()
	};
};

/** Only back into this incident's pages: never an open redirect. */
function returnPath(incidentId: string, value: string | undefined): string {
	const own = `/incidents/${incidentId}`;
	const escaped = own.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	if (value && new RegExp(`^${escaped}(/[A-Za-z0-9/_-]*)?(#[A-Za-z0-9_:-]*)?$`).test(value)) return value;
	return `${own}/playbooks`;
}

type Outcome = Result<unknown, DomainError>;

async function run(
	event: RequestEvent<{ id: string }>,
	action: string,
	fn: (args: { form: Record<string, string> }) => Promise<Outcome | string>
) {
	const form = formValues(await event.request.formData());
	const r = await fn({ form });
	// A string is where to go next (a new drill incident).
	if (typeof r === 'string') redirect(303, r);
	if (!r.ok) return failForm(r.error, { ...form, action });
	// Nothing live shows a new action item here: stay and say so, unless asked to go back.
	if (action === 'actionItem' && !form.returnTo) return { done: action };
	const anchor = form.playbookId && form.stepId ? `#step-${form.playbookId}-${form.stepId}` : '';
	const back = returnPath(event.params.id, form.returnTo);
	redirect(303, back.includes('#') ? back : `${back}${anchor}`);
}

async function withIncident(event: RequestEvent<{ id: string }>) {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const found = await incidentForRun(ctx, actor, event.params.id);
	return { actor, ctx, found };
}

export const actions: Actions = {
	load: (event) =>
		run(event, 'load', async ({ form }) => {
			const { actor, ctx, found } = await withIncident(event);
			if (!found.ok) return found;
			return loadIntoIncident(ctx, actor, { incident: found.value.ref, playbookId: form.playbookId ?? '' });
		}),
	tick: (event) =>
		run(event, 'tick', async ({ form }) => {
			const { actor, ctx, found } = await withIncident(event);
			if (!found.ok) return found;
			return tickStep(ctx, actor, {
				incident: found.value.ref,
				playbookId: form.playbookId ?? '',
				stepId: form.stepId ?? '',
				done: form.done === '1' || form.done === 'true' || form.done === 'on'
			});
		}),
	skip: (event) =>
		run(event, 'skip', async ({ form }) => {
			const { actor, ctx, found } = await withIncident(event);
			if (!found.ok) return found;
			return recordDeviation(ctx, actor, {
				incident: found.value.ref,
				playbookId: form.playbookId ?? '',
				stepId: form.stepId ?? '',
				reason: form.reason ?? '',
				kind: 'skipped'
			});
		}),
	/** A drill of one of the suggested or loaded playbooks: a new drill incident, then there. */
	drill: (event) =>
		run(event, 'drill', async ({ form }) => {
			const actor = requireActor(event);
			const { ctx } = await getApp();
			const r = await startDrill(ctx, actor, { playbookId: form.playbookId ?? '' });
			return r.ok ? `/incidents/${r.value.incidentId}` : r;
		}),
	actionItem: (event) =>
		run(event, 'actionItem', async ({ form }) => {
			const actor = requireActor(event);
			const { ctx } = await getApp();
			return actionItemFromDeviation(ctx, actor, {
				incidentId: event.params.id,
				deviationId: form.deviationId ?? '',
				locale: event.locals.locale
			});
		})
};
