/**
 * A playbook run in an incident: its steps become checklist items with due times. Pure: the server
 * builds the items when a playbook is loaded (they then live in the incident's shared document,
 * `checklist` keyed by `<playbookId>:<stepId>`), and the war-room screen reads them back and asks
 * "what is overdue now?" with the same functions, so server and browser agree on every due time.
 *
 * Due times: a step timed from the declaration is due `declaredAt + timeTargetMinutes`. A step timed
 * from its phase start is due `phase start + timeTargetMinutes`, where the first phase starts when the
 * playbook is loaded and every later phase starts when the phase before it is closed (its last open
 * item done or skipped). Until then such a step has no due time yet, and is never overdue.
 */
import type { IncidentRole } from './roles';
import { isIncidentRole } from './roles';
import type { LocalisedText, Playbook, TimeTargetOrigin } from './playbook-schema';

export const CHECKLIST_STATES = ['open', 'done', 'skipped'] as const;
export type ChecklistState = (typeof CHECKLIST_STATES)[number];

const MINUTE_MS = 60_000;

export interface ChecklistItem {
	/** `<playbookId>:<stepId>`: step ids are unique within a playbook, playbook ids across the library. */
	key: string;
	playbookId: string;
	phaseId: string;
	/** Position of the phase in its playbook (0-based): later phases start when earlier ones close. */
	phaseIndex: number;
	stepId: string;
	/** Position of the step in its playbook (0-based, across phases), for display order. */
	order: number;
	title: LocalisedText;
	ownerRole: IncidentRole;
	mandatory: boolean;
	timeTargetMinutes: number;
	timeTargetFrom: TimeTargetOrigin;
	/** ISO 8601; null while the step's phase has not started (see `dueAtOf`). */
	dueAt: string | null;
	state: ChecklistState;
	/** Who closed the item (done or skipped), user id and display name, and when (ISO 8601). */
	doneBy: string | null;
	doneByName: string | null;
	doneAt: string | null;
	skipReason: string | null;
}

export function checklistKey(playbookId: string, stepId: string): string {
	return `${playbookId}:${stepId}`;
}

function plus(at: Date, minutes: number): string {
	return new Date(at.getTime() + minutes * MINUTE_MS).toISOString();
}

/**
 * The checklist items for a playbook loaded at `loadedAt` into an incident declared at `declaredAt`.
 * All items start open.
 */
export function buildChecklist(playbook: Playbook, opts: { declaredAt: Date; loadedAt: Date }): ChecklistItem[] {
	const items: ChecklistItem[] = [];
	let order = 0;
	playbook.phases.forEach((phase, phaseIndex) => {
		for (const step of phase.steps) {
			let dueAt: string | null = null;
			if (step.timeTargetFrom === 'declaration') dueAt = plus(opts.declaredAt, step.timeTargetMinutes);
			else if (phaseIndex === 0) dueAt = plus(opts.loadedAt, step.timeTargetMinutes);
			items.push({
				key: checklistKey(playbook.id, step.id),
				playbookId: playbook.id,
				phaseId: phase.id,
				phaseIndex,
				stepId: step.id,
				order: order++,
				title: { 'zh-CN': step.title['zh-CN'], en: step.title.en },
				ownerRole: step.owner,
				mandatory: step.mandatory,
				timeTargetMinutes: step.timeTargetMinutes,
				timeTargetFrom: step.timeTargetFrom,
				dueAt,
				state: 'open',
				doneBy: null,
				doneByName: null,
				doneAt: null,
				skipReason: null
			});
		}
	});
	return items;
}

/**
 * When a phase started: null if an earlier phase of the same playbook still has open items, else the
 * moment the phase before it was closed (the latest `doneAt` in it). Phase 0 is not derivable from
 * the items (it started at load time, already baked into its items' `dueAt`), so it returns null.
 */
export function phaseStartedAt(items: readonly ChecklistItem[], playbookId: string, phaseIndex: number): string | null {
	if (phaseIndex <= 0) return null;
	let latest: number | null = null;
	for (const item of items) {
		if (item.playbookId !== playbookId || item.phaseIndex >= phaseIndex) continue;
		if (item.state === 'open') return null;
		const at = item.doneAt ? Date.parse(item.doneAt) : NaN;
		if (item.phaseIndex === phaseIndex - 1 && !Number.isNaN(at)) latest = latest === null ? at : Math.max(latest, at);
	}
	return latest === null ? null : new Date(latest).toISOString();
}

/** The item's due time (ISO 8601), or null while it cannot be known yet. */
export function dueAtOf(item: ChecklistItem, items: readonly ChecklistItem[]): string | null {
	if (item.dueAt) return item.dueAt;
	if (item.timeTargetFrom !== 'phase_start') return null;
	const start = phaseStartedAt(items, item.playbookId, item.phaseIndex);
	return start === null ? null : plus(new Date(start), item.timeTargetMinutes);
}

/** Open and past its due time at `now`: the screen highlights it. */
export function isOverdue(item: ChecklistItem, items: readonly ChecklistItem[], now: Date): boolean {
	if (item.state !== 'open') return false;
	const due = dueAtOf(item, items);
	return due !== null && now.getTime() > Date.parse(due);
}

/** Done after its due time (a candidate "late" deviation for the review). */
export function wasLate(item: ChecklistItem, items: readonly ChecklistItem[]): boolean {
	if (item.state !== 'done' || !item.doneAt) return false;
	const due = dueAtOf(item, items);
	return due !== null && Date.parse(item.doneAt) > Date.parse(due);
}

/** Items in display order: by playbook (as given), then by their position in the playbook. */
export function sortChecklist(items: readonly ChecklistItem[], playbookOrder: readonly string[] = []): ChecklistItem[] {
	const rank = (id: string) => {
		const i = playbookOrder.indexOf(id);
		return i < 0 ? playbookOrder.length : i;
	};
	return [...items].sort(
		(a, b) => rank(a.playbookId) - rank(b.playbookId) || a.playbookId.localeCompare(b.playbookId) || a.order - b.order
	);
}

function str(v: unknown): string | null {
	return typeof v === 'string' ? v : null;
}

function isoOrNull(v: unknown): string | null {
	return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : null;
}

/**
 * Reads one item from the shared document (a plain object, e.g. `ymap.toJSON()`). The document is
 * written by many clients, and a buggy or hostile one must not break everyone's checklist, so a
 * malformed item reads as null and is skipped.
 */
export function readChecklistItem(key: string, raw: unknown): ChecklistItem | null {
	if (!raw || typeof raw !== 'object') return null;
	const o = raw as Record<string, unknown>;
	const playbookId = str(o.playbookId);
	const stepId = str(o.stepId);
	const phaseId = str(o.phaseId);
	const title = o.title as Partial<LocalisedText> | null | undefined;
	if (!playbookId || !stepId || !phaseId || key !== checklistKey(playbookId, stepId)) return null;
	if (!title || typeof title['zh-CN'] !== 'string' || typeof title.en !== 'string') return null;
	if (!isIncidentRole(o.ownerRole)) return null;
	const state = (CHECKLIST_STATES as readonly unknown[]).includes(o.state) ? (o.state as ChecklistState) : null;
	if (!state) return null;
	const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
	return {
		key,
		playbookId,
		phaseId,
		phaseIndex: num(o.phaseIndex),
		stepId,
		order: num(o.order),
		title: { 'zh-CN': title['zh-CN'], en: title.en },
		ownerRole: o.ownerRole,
		mandatory: o.mandatory === true,
		timeTargetMinutes: num(o.timeTargetMinutes),
		timeTargetFrom: o.timeTargetFrom === 'phase_start' ? 'phase_start' : 'declaration',
		dueAt: isoOrNull(o.dueAt),
		state,
		doneBy: str(o.doneBy),
		doneByName: str(o.doneByName),
		doneAt: isoOrNull(o.doneAt),
		skipReason: str(o.skipReason)
	};
}

/** Every readable item of a checklist given as `{ key: item }` (e.g. `checklist.toJSON()`). */
export function readChecklist(raw: Record<string, unknown>): ChecklistItem[] {
	const out: ChecklistItem[] = [];
	for (const [key, value] of Object.entries(raw)) {
		const item = readChecklistItem(key, value);
		if (item) out.push(item);
	}
	return out;
}
