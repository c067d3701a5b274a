import { DEFAULT_ESCALATION_POLICY } from '$lib/domain/escalation-policy';
import { PRIORITIES } from '$lib/domain/priority';
import { getApp } from '$lib/server/app';
import { failForm, formValues, requireActor } from '$lib/server/http';
import { getPolicy, savePolicy } from '$lib/server/services/escalation.service';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	requireActor(event);
	const { ctx } = await getApp();
	const { rules, updatedAt } = await getPolicy(ctx);
	return { rules, defaults: DEFAULT_ESCALATION_POLICY, priorities: [...PRIORITIES], updatedAt };
};

const SCALARS = [
	'crossRegionReportMinutes',
	'headOfficeAckMinutes',
	'memberAckMinutes',
	'warningLeadMinutes',
	'actionItemWarningLeadMinutes'
] as const;

/**
 * Form fields → partial policy. An empty box means "use the default" (the key is left out); a
 * non-number is passed through as text so the service reports it against its field.
 */
function rulesFrom(form: Record<string, string>): Record<string, unknown> {
	const num = (v: string) => (/^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v.trim());
	const rules: Record<string, unknown> = {};
	for (const table of ['headOfficeReportMinutes', 'updateIntervalMinutes'] as const) {
		const entries = Object.entries(form).filter(([k, v]) => k.startsWith(`${table}.`) && v.trim() !== '');
		if (form[`${table}.set`] === '1') rules[table] = Object.fromEntries(entries.map(([k, v]) => [k.slice(table.length + 1), num(v)]));
	}
	for (const key of SCALARS) if (form[key] !== undefined && form[key].trim() !== '') rules[key] = num(form[key]);
	if (form.crossRegionToHeadOffice !== undefined || form['crossRegionToHeadOffice.set'] === '1')
		rules.crossRegionToHeadOffice = form.crossRegionToHeadOffice === 'on';
	return rules;
}

export const actions: Actions = {
	save: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const form = formValues(await event.request.formData());
		const r = await savePolicy(ctx, actor, { rules: rulesFrom(form) });
		if (!r.ok) return failForm(r.error, form);
		return { saved: true };
	},
	reset: async (event) => {
		const actor = requireActor(event);
		const { ctx } = await getApp();
		const r = await savePolicy(ctx, actor, { rules: {} });
		if (!r.ok) return failForm(r.error);
		return { saved: true };
	}
};
