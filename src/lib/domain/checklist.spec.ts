import { describe, expect, it } from 'vitest';
import {
	buildChecklist,
	checklistKey,
	dueAtOf,
	isOverdue,
	phaseStartedAt,
	readChecklist,
	readChecklistItem,
	sortChecklist,
	wasLate,
	type ChecklistItem
} from './checklist';
import type { Playbook, PlaybookStep } from './playbook-schema';

const text = (en: string) => ({ 'zh-CN': `中文 ${en}`, en });

function step(id: string, minutes: number, from: PlaybookStep['timeTargetFrom'], mandatory = true): PlaybookStep {
	return {
		id,
		title: text(id),
		owner: 'technical_lead',
		timeTargetMinutes: minutes,
		timeTargetFrom: from,
		mandatory,
		commands: [],
		checks: [],
		contacts: []
	};
}

/** A factory: a three-phase playbook mixing both time-target origins. */
function playbook(): Playbook {
	return {
		id: 'db-failover',
		version: 2,
		category: 'database',
		title: text('DB failover'),
		summary: text('summary'),
		services: ['CORE-BANKING'],
		tags: [],
		suggestedPriority: 'P1',
		restricted: false,
		roles: ['incident_manager', 'technical_lead'],
		phases: [
			{ id: 'assess', title: text('Assess'), steps: [step('confirm', 10, 'declaration'), step('notify', 5, 'phase_start', false)] },
			{ id: 'switch', title: text('Switch'), steps: [step('promote', 15, 'phase_start'), step('report', 30, 'declaration')] },
			{ id: 'verify', title: text('Verify'), steps: [step('check', 20, 'phase_start')] }
		],
		decisionPoints: [],
		communications: [],
		escalation: [],
		exitCriteria: [text('done')]
	};
}

const declaredAt = new Date('2026-03-14T02:00:00Z');
const loadedAt = new Date('2026-03-14T02:07:00Z');
const at = (iso: string) => new Date(iso);

function close(items: ChecklistItem[], stepId: string, doneAt: string, state: 'done' | 'skipped' = 'done'): ChecklistItem[] {
	return items.map((i) => (i.stepId === stepId ? { ...i, state, doneAt, doneBy: 'u1', doneByName: 'Li Lei' } : i));
}

describe('buildChecklist', () => {
	it('makes one open item per step, keyed playbook:step, in playbook order', () => {
		const items = buildChecklist(playbook(), { declaredAt, loadedAt });
		expect(items.map((i) => i.key)).toEqual([
			'db-failover:confirm',
			'db-failover:notify',
			'db-failover:promote',
			'db-failover:report',
			'db-failover:check'
		]);
		expect(items.map((i) => i.order)).toEqual([0, 1, 2, 3, 4]);
		expect(items.every((i) => i.state === 'open' && i.doneBy === null && i.skipReason === null)).toBe(true);
		expect(items[1]).toMatchObject({
			phaseId: 'assess',
			phaseIndex: 0,
			ownerRole: 'technical_lead',
			mandatory: false,
			title: text('notify')
		});
	});

	it('times declaration steps from the declaration, whatever their phase', () => {
		const items = buildChecklist(playbook(), { declaredAt, loadedAt });
		expect(items[0]!.dueAt).toBe('2026-03-14T02:10:00.000Z');
		expect(items[3]!.dueAt).toBe('2026-03-14T02:30:00.000Z');
	});

	it('times first-phase steps from the load, and leaves later phase-start steps without a due time yet', () => {
		const items = buildChecklist(playbook(), { declaredAt, loadedAt });
		expect(items[1]!.dueAt).toBe('2026-03-14T02:12:00.000Z');
		expect(items[2]!.dueAt).toBeNull();
		expect(items[4]!.dueAt).toBeNull();
	});
});

describe('due times of later phases', () => {
	it('starts a phase when every item of the phases before it is closed, at the last closing time', () => {
		let items = buildChecklist(playbook(), { declaredAt, loadedAt });
		expect(phaseStartedAt(items, 'db-failover', 1)).toBeNull();
		items = close(items, 'confirm', '2026-03-14T02:09:00Z');
		expect(phaseStartedAt(items, 'db-failover', 1)).toBeNull();
		items = close(items, 'notify', '2026-03-14T02:20:00Z', 'skipped');
		expect(phaseStartedAt(items, 'db-failover', 1)).toBe('2026-03-14T02:20:00.000Z');
		expect(dueAtOf(items[2]!, items)).toBe('2026-03-14T02:35:00.000Z');
	});

	it('does not start phase 3 while phase 2 has an open item', () => {
		let items = buildChecklist(playbook(), { declaredAt, loadedAt });
		items = close(close(items, 'confirm', '2026-03-14T02:09:00Z'), 'notify', '2026-03-14T02:10:00Z');
		items = close(items, 'promote', '2026-03-14T02:40:00Z');
		expect(dueAtOf(items[4]!, items)).toBeNull();
		items = close(items, 'report', '2026-03-14T02:45:00Z');
		expect(dueAtOf(items[4]!, items)).toBe('2026-03-14T03:05:00.000Z');
	});
});

describe('isOverdue and wasLate', () => {
	const items = buildChecklist(playbook(), { declaredAt, loadedAt });

	it('is overdue only when open and strictly past the due time', () => {
		expect(isOverdue(items[0]!, items, at('2026-03-14T02:10:00Z'))).toBe(false);
		expect(isOverdue(items[0]!, items, at('2026-03-14T02:10:01Z'))).toBe(true);
		const done = close(items, 'confirm', '2026-03-14T02:30:00Z');
		expect(isOverdue(done[0]!, done, at('2026-03-14T03:00:00Z'))).toBe(false);
	});

	it('is never overdue without a due time', () => {
		expect(isOverdue(items[4]!, items, at('2030-01-01T00:00:00Z'))).toBe(false);
	});

	it('was late when done after the due time, not when skipped', () => {
		const late = close(items, 'confirm', '2026-03-14T02:11:00Z');
		expect(wasLate(late[0]!, late)).toBe(true);
		const onTime = close(items, 'confirm', '2026-03-14T02:10:00Z');
		expect(wasLate(onTime[0]!, onTime)).toBe(false);
		const skipped = close(items, 'confirm', '2026-03-14T02:50:00Z', 'skipped');
		expect(wasLate(skipped[0]!, skipped)).toBe(false);
	});
});

describe('reading items back from the shared document', () => {
	const items = buildChecklist(playbook(), { declaredAt, loadedAt });

	it('round-trips a built item through JSON', () => {
		const raw = JSON.parse(JSON.stringify(items[2])) as unknown;
		expect(readChecklistItem(items[2]!.key, raw)).toEqual(items[2]);
	});

	it('skips malformed items instead of failing the whole checklist', () => {
		const good = JSON.parse(JSON.stringify(items[0])) as Record<string, unknown>;
		const raw = {
			[items[0]!.key]: good,
			'db-failover:x': { ...good, stepId: 'y' },
			'db-failover:role': { ...good, stepId: 'role', ownerRole: 'ceo' },
			'db-failover:state': { ...good, stepId: 'state', state: 'maybe' },
			junk: 42
		};
		expect(readChecklist(raw).map((i) => i.key)).toEqual([items[0]!.key]);
	});

	it('drops an unparsable due time rather than trusting it', () => {
		const raw = { ...(JSON.parse(JSON.stringify(items[0])) as object), dueAt: 'soon' };
		expect(readChecklistItem(items[0]!.key, raw)?.dueAt).toBeNull();
	});
});

describe('sortChecklist', () => {
	it('orders by the given playbook order, then by step position', () => {
		const a = buildChecklist(playbook(), { declaredAt, loadedAt });
		const b = buildChecklist({ ...playbook(), id: 'another' }, { declaredAt, loadedAt });
		const sorted = sortChecklist([...a.slice().reverse(), ...b], ['another', 'db-failover']);
		expect(sorted[0]!.key).toBe(checklistKey('another', 'confirm'));
		expect(sorted.slice(5).map((i) => i.stepId)).toEqual(['confirm', 'notify', 'promote', 'report', 'check']);
	});
});
