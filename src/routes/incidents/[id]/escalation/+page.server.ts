import { getApp } from '$lib/server/app';
import { failForm, formValues, raise, requireActor } from '$lib/server/http';
import { getClocks } from '$lib/server/services/clocks.service';
import {
	acknowledgeReport,
	approveCommunication,
	draftCommunication,
	editCommunication,
	listCommunications,
	REPORT_TEXT_FIELDS,
	requestUpdate,
	returnCommunication,
	STATUS_TEXT_FIELDS,
	submitCommunication
} from '$lib/server/services/escalation.service';
import { getIncident } from '$lib/server/services/incident.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const inc = await getIncident(ctx, actor, event.params.id);
	if (!inc.ok) raise(inc.error);
	const [comms, clocks] = await Promise.all([
		listCommunications(ctx, actor, { incidentId: inc.value.id }),
		getClocks(ctx, actor, { incidentId: inc.value.id })
	]);
	if (!comms.ok) raise(comms.error);
	if (!clocks.ok) raise(clocks.error);
	const i = inc.value;
	return {
		escalation: {
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
				draftReport: i.allowed.draft_report,
				approveReport: i.allowed.approve_report || i.allowed.override_approval,
				writeStatus: i.allowed.write_status_update,
				approveStatus: i.allowed.approve_status_update || i.allowed.override_approval,
				ack: i.allowed.ack_head_office_report
			},
			currentUserId: actor.userId,
			communications: comms.value.communications,
			requests: comms.value.requests,
			clocks: clocks.value.clocks.map((c) => ({
				kind: c.kind,
				dueAt: c.dueAt,
				warnAt: c.warnAt,
				state: c.state,
				metAt: c.metAt ?? null,
				subjectId: c.subjectId ?? null
			})),
			mustReport: clocks.value.mustEscalateToHeadOffice,
			reasons: clocks.value.reasons,
			serverNow: clocks.value.now
		}
	};
};

/** The editor posts `text.<field>.<locale>` inputs; they become the service's `{ field: { locale } }`. */
function textFrom(form: Record<string, string>, kind: string): Record<string, { 'zh-CN': string; en: string }> {
	const fields: readonly string[] = kind === 'status_update' ? STATUS_TEXT_FIELDS : REPORT_TEXT_FIELDS;
	const out: Record<string, { 'zh-CN': string; en: string }> = {};
	for (const f of fields) {
		const zh = form[`text.${f}.zh-CN`];
		const en = form[`text.${f}.en`];
		if (zh !== undefined || en !== undefined) out[f] = { 'zh-CN': zh ?? '', en: en ?? '' };
	}
	return out;
}

type Form = Record<string, string>;
type Outcome = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };

async function run(
	event: Parameters<Actions[string]>[0],
	done: string,
	fn: (args: { ctx: Awaited<ReturnType<typeof getApp>>['ctx']; actor: ReturnType<typeof requireActor>; form: Form }) => Promise<Outcome>
) {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const form = formValues(await event.request.formData());
	const r = await fn({ ctx, actor, form });
	if (!r.ok) return failForm(r.error as Parameters<typeof failForm>[0], { ...form, action: done });
	return { done, id: form.id ?? null };
}

export const actions: Actions = {
	draft: (event) =>
		run(event, 'draft', ({ ctx, actor, form }) =>
			draftCommunication(ctx, actor, { incidentId: event.params.id, kind: form.kind, reportKind: form.reportKind })
		),
	save: (event) =>
		run(event, 'save', ({ ctx, actor, form }) =>
			editCommunication(ctx, actor, { id: form.id, version: form.version, text: textFrom(form, form.kind ?? '') })
		),
	submit: (event) =>
		run(event, 'submit', async ({ ctx, actor, form }) => {
			// Save what is in the editor first, so "submit" never sends an older text than the one shown.
			const saved = await editCommunication(ctx, actor, { id: form.id, version: form.version, text: textFrom(form, form.kind ?? '') });
			if (!saved.ok) return saved;
			return submitCommunication(ctx, actor, { id: form.id });
		}),
	return: (event) =>
		run(event, 'return', ({ ctx, actor, form }) => returnCommunication(ctx, actor, { id: form.id, comment: form.comment })),
	approve: (event) =>
		run(event, 'approve', ({ ctx, actor, form }) => approveCommunication(ctx, actor, { id: form.id, overrideReason: form.overrideReason })),
	ack: (event) => run(event, 'ack', ({ ctx, actor, form }) => acknowledgeReport(ctx, actor, { id: form.id })),
	request: (event) =>
		run(event, 'request', ({ ctx, actor, form }) =>
			requestUpdate(ctx, actor, { incidentId: event.params.id, communicationId: form.id, kind: form.kind, text: form.text })
		)
};
