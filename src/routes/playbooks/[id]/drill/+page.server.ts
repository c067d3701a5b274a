import { redirect } from '@sveltejs/kit';
import { getApp } from '$lib/server/app';
import { failForm, raise, requireActor } from '$lib/server/http';
import { getPlaybook } from '$lib/server/services/playbook.service';
import { DRILL_CLASSIFICATION, DRILL_TITLE_PREFIX, startDrill } from '$lib/server/services/playbook-run.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await getPlaybook(ctx, actor, { id: event.params.id });
	if (!r.ok) raise(r.error);
	const { summary, playbook } = r.value;
	return {
		playbook: {
			id: summary.id,
			title: playbook.title,
			version: playbook.version,
			services: playbook.services,
			restricted: playbook.restricted,
			withdrawn: summary.withdrawn,
			suggestedPriority: playbook.suggestedPriority,
			classification: DRILL_CLASSIFICATION[playbook.suggestedPriority],
			steps: playbook.phases.reduce((n, p) => n + p.steps.length, 0)
		},
		titlePrefix: DRILL_TITLE_PREFIX,
		// Declaring is for managers and admins; the service decides, this only hides a button that would fail.
		canDeclare: actor.globalRole === 'admin' || actor.globalRole === 'manager'
	};
};

export const actions: Actions = {
	default: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const r = await startDrill(ctx, actor, { playbookId: event.params.id });
		if (!r.ok) return failForm(r.error, { incidentId: String(r.error.params?.incidentId ?? '') });
		redirect(303, `/incidents/${r.value.incidentId}`);
	}
};
