/**
 * Running playbooks in an incident, as the screens need it: one call gathers what the playbook panel
 * shows (suggestions, the runs, the checklist as the server holds it, deviations with names), and
 * drills are started from a playbook. The rules themselves (who may load, tick, skip; snapshots;
 * deviations) live in playbook.service.ts; this module only composes them with the incidents service.
 *
 * The checklist is read from the incident's shared document on the server so the panel renders it
 * without JavaScript (phones, locked-down terminals); the browser then follows the live document.
 */
import * as Y from 'yjs';
import { checklistOf } from '../../collab/incident-doc';
import { readChecklist, sortChecklist, type ChecklistItem } from '../../domain/checklist';
import type { LocalisedText, PlaybookCategory } from '../../domain/playbook';
import { PRIORITY_MATRIX, type Impact, type Priority, type Urgency } from '../../domain/priority';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import type { Actor, AppContext } from '../context';
import { log } from '../log';
import { translate, type Locale } from '../../i18n';
import { createActionItem } from './action-item.service';
import { listServices } from './catalogue.service';
import { declareIncident, getIncident, loadFor, type IncidentView } from './incident.service';
import {
	ensureChecklist,
	getPlaybook,
	incidentPlaybooks,
	listDeviations,
	loadIntoIncident,
	suggestForIncident,
	type IncidentRef
} from './playbook.service';

/** Marks a drill in its title, in both languages, wherever the title is shown (lists, board, reports). */
export const DRILL_TITLE_PREFIX = '[演练 DRILL] ';

/**
 * The impact × urgency a drill is declared with, per the playbook's suggested priority: one fixed
 * cell of the matrix per priority (checked against PRIORITY_MATRIX at start-up of this module).
 */
export const DRILL_CLASSIFICATION: Readonly<Record<Priority, { impact: Impact; urgency: Urgency }>> = {
	P1: { impact: 'extensive', urgency: 'critical' },
	P2: { impact: 'significant', urgency: 'high' },
	P3: { impact: 'moderate', urgency: 'high' },
	P4: { impact: 'minor', urgency: 'high' },
	P5: { impact: 'minor', urgency: 'low' }
};
for (const [p, c] of Object.entries(DRILL_CLASSIFICATION))
	if (PRIORITY_MATRIX[c.impact][c.urgency] !== p) throw new Error(`DRILL_CLASSIFICATION: ${c.impact} × ${c.urgency} is not ${p}`);

/**
 * The incident as the playbook service needs it. Due times count from the declaration; a proposal
 * that has not been declared yet counts from when the problem was detected.
 */
export function incidentRefOf(view: IncidentView): IncidentRef {
	return {
		id: view.id,
		declaredAt: view.times.declaredAt ?? view.times.detectedAt,
		restricted: view.restricted,
		memberRole: view.me.member ? (view.me.role ?? 'observer') : null
	};
}

/** Reads the incident and returns it with its `IncidentRef` (view_incident is checked by getIncident). */
export async function incidentForRun(
	ctx: AppContext,
	actor: Actor,
	incidentId: string
): Promise<Result<{ view: IncidentView; ref: IncidentRef }>> {
	const r = await getIncident(ctx, actor, incidentId);
	if (!r.ok) return r;
	return ok({ view: r.value, ref: incidentRefOf(r.value) });
}

export interface RunSuggestion {
	id: string;
	title: LocalisedText;
	category: PlaybookCategory;
	version: number;
	restricted: boolean;
	matchedServices: string[];
}

export interface RunSummary {
	playbookId: string;
	versionId: string;
	title: LocalisedText;
	version: number;
	loadedAt: Date;
	loadedByName: string | null;
	phases: { id: string; title: LocalisedText }[];
}

export interface RunDeviation {
	id: string;
	playbookId: string;
	stepId: string;
	stepTitle: LocalisedText | null;
	kind: 'skipped' | 'late';
	reason: string;
	recordedByName: string | null;
	recordedAt: Date;
}

export interface PlaybookRunsView {
	incident: IncidentView;
	ref: IncidentRef;
	/** Loadable playbooks that fit the incident and are not loaded yet; empty for those who may not load. */
	suggestions: RunSuggestion[];
	runs: RunSummary[];
	/** The checklist as the server's copy of the shared document holds it; null when that copy is not available. */
	checklist: ChecklistItem[] | null;
	deviations: RunDeviation[];
}

/** The checklist held in the incident's shared document, in display order; null without the collab module. */
export async function readIncidentChecklist(
	ctx: AppContext,
	incidentId: string,
	playbookOrder: readonly string[] = []
): Promise<ChecklistItem[] | null> {
	if (!ctx.collab) return null;
	const items = await ctx.collab.read(incidentId, (doc: Y.Doc) => readChecklist(checklistOf(doc).toJSON()));
	return sortChecklist(items, playbookOrder);
}

/** Everything the playbook panel shows for one incident. */
export async function playbookRuns(ctx: AppContext, actor: Actor, input: { incidentId: string }): Promise<Result<PlaybookRunsView>> {
	const found = await incidentForRun(ctx, actor, input.incidentId);
	if (!found.ok) return found;
	const { view, ref } = found.value;
	const [runs, deviations] = await Promise.all([
		incidentPlaybooks(ctx, actor, { incident: ref }),
		listDeviations(ctx, actor, { incident: ref })
	]);
	if (!runs.ok) return runs;
	if (!deviations.ok) return deviations;

	const loadedIds = new Set(runs.value.map((r) => r.playbookId));
	const suggestions = view.allowed.load_playbook
		? (await suggestForIncident(ctx, actor, { serviceCodes: view.services.map((s) => s.code) }))
				.filter((s) => !loadedIds.has(s.id) && !s.withdrawn && (!s.restricted || view.restricted))
				.map((s) => ({
					id: s.id,
					title: s.title,
					category: s.category,
					version: s.version,
					restricted: s.restricted,
					matchedServices: s.matchedServices
				}))
		: [];

	let checklist: ChecklistItem[] | null = null;
	if (ctx.collab) {
		try {
			// Repairs a checklist whose writing failed after the load was committed (see ensureChecklist).
			if (runs.value.length > 0 && view.allowed.tick_checklist) await ensureChecklist(ctx, { incident: ref });
			checklist = await readIncidentChecklist(
				ctx,
				ref.id,
				runs.value.map((r) => r.playbookId)
			);
		} catch (error) {
			// The page still shows the runs and deviations; the browser follows the live document anyway.
			log.error('playbook runs: could not read the checklist from the shared document', { incidentId: ref.id, error });
		}
	}

	const nameOf = new Map(view.members.map((m) => [m.userId, m.displayName]));
	const itemByKey = new Map((checklist ?? []).map((i) => [i.key, i]));
	const stepTitle = (playbookId: string, stepId: string): LocalisedText | null => {
		const run = runs.value.find((r) => r.playbookId === playbookId);
		for (const phase of run?.playbook.phases ?? []) {
			const step = phase.steps.find((s) => s.id === stepId);
			if (step) return step.title;
		}
		return null;
	};
	return ok({
		incident: view,
		ref,
		suggestions,
		runs: runs.value.map((r) => ({
			playbookId: r.playbookId,
			versionId: r.versionId,
			title: r.playbook.title,
			version: r.version,
			loadedAt: r.loadedAt,
			loadedByName: r.loadedBy ? (nameOf.get(r.loadedBy) ?? null) : null,
			phases: r.playbook.phases.map((p) => ({ id: p.id, title: p.title }))
		})),
		checklist,
		deviations: deviations.value.map((d) => {
			const item = itemByKey.get(`${d.playbookId}:${d.stepId}`);
			// A skip stamps the item with its author's name: the fallback for someone no longer in the group.
			const fromItem = item && item.doneBy === d.recordedBy ? item.doneByName : null;
			return {
				id: d.id,
				playbookId: d.playbookId,
				stepId: d.stepId,
				stepTitle: stepTitle(d.playbookId, d.stepId),
				kind: d.kind,
				reason: d.reason,
				recordedByName: d.recordedBy ? (nameOf.get(d.recordedBy) ?? fromItem) : null,
				recordedAt: d.recordedAt
			};
		})
	});
}

/**
 * Starts a drill from a playbook: declares a drill incident (marked in its title and flag, with the
 * playbook's services that exist in the catalogue, its suggested priority and its restriction), then
 * loads the playbook into it. Declaring needs the `declare` permission (managers, admins); the
 * playbook must be one the actor may read.
 */
export async function startDrill(
	ctx: AppContext,
	actor: Actor,
	input: { playbookId: string }
): Promise<Result<{ incidentId: string; number: string }, DomainError>> {
	const found = await getPlaybook(ctx, actor, { id: input.playbookId });
	if (!found.ok) return found;
	const { playbook, summary } = found.value;
	if (summary.withdrawn)
		return err({ code: 'withdrawn', message: `Playbook ${summary.id} has been withdrawn from the library`, field: 'playbookId' });
	const catalogue = new Set((await listServices(ctx)).map((s) => s.code));
	const { impact, urgency } = DRILL_CLASSIFICATION[playbook.suggestedPriority];
	const declared = await declareIncident(ctx, actor, {
		title: `${DRILL_TITLE_PREFIX}${playbook.title['zh-CN']}（${playbook.title.en}）`,
		description: `演练：按应急预案「${playbook.title['zh-CN']}」v${playbook.version}。\nDrill of the playbook "${playbook.title.en}" v${playbook.version}.`,
		drill: true,
		services: playbook.services.filter((code) => catalogue.has(code)),
		impact,
		urgency,
		restricted: playbook.restricted,
		source: 'web'
	});
	if (!declared.ok) return declared;
	const incident = declared.value.incident;
	const loaded = await loadIntoIncident(ctx, actor, { incident: incidentRefOf(incident), playbookId: playbook.id });
	if (!loaded.ok) {
		// The drill incident exists (a fact, audited); say what failed so the manager can load it by hand.
		log.error('drill: the drill incident was declared but the playbook could not be loaded', {
			incidentId: incident.id,
			playbookId: playbook.id,
			error: loaded.error
		});
		return err({ ...loaded.error, params: { ...(loaded.error.params ?? {}), incidentId: incident.id } });
	}
	return ok({ incidentId: incident.id, number: incident.number });
}

/** Longest action-item title (action-item.service's TITLE_MAX_CHARS). */
const ACTION_ITEM_TITLE_MAX_CHARS = 300;

/**
 * "What went wrong in a drill can become an action item": turns a deviation of a drill into a
 * corrective action item of that drill (manage_action_items, checked by the action-items service),
 * titled with the step and the reason in the actor's language.
 */
export async function actionItemFromDeviation(
	ctx: AppContext,
	actor: Actor,
	input: { incidentId: string; deviationId: string; locale: Locale }
): Promise<Result<{ actionItemId: string }, DomainError>> {
	// Access first: someone who may not manage action items learns nothing about the incident's runs.
	const allowed = await loadFor(ctx, actor, { ref: input.incidentId, operation: 'manage_action_items' });
	if (!allowed.ok) return allowed;
	const runs = await playbookRuns(ctx, actor, { incidentId: input.incidentId });
	if (!runs.ok) return runs;
	if (!runs.value.incident.drill)
		return err({
			code: 'invalid',
			message: 'Only the deviations of a drill become action items here; a real incident gets them in its review',
			field: 'deviationId'
		});
	const deviation = runs.value.deviations.find((d) => d.id === input.deviationId);
	if (!deviation) return err({ code: 'not_found', message: `No deviation ${input.deviationId} in this incident`, field: 'deviationId' });
	const step = deviation.stepTitle?.[input.locale] ?? deviation.stepId;
	const oneLine = translate(input.locale, 'run.actionItem.title', { step, reason: deviation.reason }).replace(/\s+/g, ' ').trim();
	const title = oneLine.length > ACTION_ITEM_TITLE_MAX_CHARS ? `${oneLine.slice(0, ACTION_ITEM_TITLE_MAX_CHARS - 1)}…` : oneLine;
	const created = await createActionItem(ctx, actor, { incidentId: input.incidentId, input: { title, type: 'corrective' } });
	if (!created.ok) return created;
	return ok({ actionItemId: created.value.id });
}
