import { getApp } from '$lib/server/app';
import { failForm, formValues, raise, requireActor } from '$lib/server/http';
import { acknowledgeReport, listInbox, requestUpdate } from '$lib/server/services/escalation.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const r = await listInbox(ctx, actor);
	if (!r.ok) raise(r.error);
	return {
		mayAck: r.value.mayAck,
		items: r.value.items.map((i) => ({
			incident: i.incident,
			ackedByMe: i.ackedByMe,
			openRequests: i.openRequests,
			report: {
				id: i.report.id,
				reportKind: i.report.reportKind,
				sequence: i.report.sequence,
				sentAt: i.report.sentAt,
				overrideReason: i.report.overrideReason,
				content: i.report.content,
				acks: i.report.acks.map((a) => ({ name: a.name, at: a.at }))
			}
		}))
	};
};

export const actions: Actions = {
	ack: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const form = formValues(await event.request.formData());
		const r = await acknowledgeReport(ctx, actor, { id: form.id });
		if (!r.ok) return failForm(r.error, { ...form, action: 'ack' });
		return { done: 'ack', id: form.id };
	},
	request: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const form = formValues(await event.request.formData());
		const r = await requestUpdate(ctx, actor, { communicationId: form.id, kind: form.kind, text: form.text });
		if (!r.ok) return failForm(r.error, { ...form, action: 'request' });
		return { done: 'request', id: form.id };
	}
};
