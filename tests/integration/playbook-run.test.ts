/**
 * Running playbooks as the screens need it (playbook-run.service): the panel's data read from the
 * database and the incident's shared document, drills started from a playbook, and drill deviations
 * turned into action items. Real database (PGlite, or PostgreSQL with TEST_DATABASE_URL) and real
 * Yjs documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/lib/server/context';
import { loadPlaybooks } from '../../src/lib/server/playbooks/loader';
import { saveService } from '../../src/lib/server/services/catalogue.service';
import { declareIncident, getIncident } from '../../src/lib/server/services/incident.service';
import { addMember } from '../../src/lib/server/services/membership.service';
import { listActionItemsOf } from '../../src/lib/server/services/action-item.service';
import * as run from '../../src/lib/server/services/playbook-run.service';
import * as svc from '../../src/lib/server/services/playbook.service';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';
import { memoryCollab } from '../helpers/memory-collab';

let ctx: TestContext;

beforeAll(async () => {
	ctx = await createTestContext();
	ctx.collab = memoryCollab();
	for (const [code, en] of [
		['CORE-BANKING', 'Core banking'],
		['PAYMENTS', 'Payments'],
		['INTERNET-BANKING', 'Internet banking']
	] as const)
		await saveService(ctx, SYSTEM_ACTOR, { input: { code, nameZh: en, nameEn: en, criticality: 'critical' } });
	await loadPlaybooks(ctx, 'playbooks');
});
afterAll(async () => {
	await ctx.close();
});

async function declared(manager: Awaited<ReturnType<typeof makeUser>>, opts: { restricted?: boolean } = {}) {
	const r = await declareIncident(ctx, manager.actor, {
		title: 'Core banking down',
		impact: 'extensive',
		urgency: 'critical',
		services: ['CORE-BANKING'],
		restricted: opts.restricted ?? false
	});
	if (!r.ok) throw new Error(r.error.message);
	return r.value.incident;
}

describe(`the playbook panel's data (${dbLabel})`, () => {
	it('suggests matching playbooks, drops them once loaded, and reads the checklist and deviations with names', async () => {
		const manager = await makeUser(ctx, { role: 'manager', displayName: 'Wang Li' });
		const inc = await declared(manager);
		const before = await run.playbookRuns(ctx, manager.actor, { incidentId: inc.id });
		if (!before.ok) throw new Error(before.error.message);
		const ids = before.value.suggestions.map((s) => s.id);
		expect(ids).toContain('database-primary-failover');
		// Restricted playbooks are never offered for an unrestricted incident (loading would be refused).
		expect(ids).not.toContain('ransomware-security-breach');
		expect(before.value.runs).toEqual([]);
		expect(before.value.checklist).toEqual([]);

		const ref = before.value.ref;
		const loaded = await svc.loadIntoIncident(ctx, manager.actor, { incident: ref, playbookId: 'database-primary-failover' });
		if (!loaded.ok) throw new Error(loaded.error.message);
		const mandatory = loaded.value.items.find((i) => i.mandatory)!;
		const skipped = await svc.recordDeviation(ctx, manager.actor, {
			incident: ref,
			playbookId: 'database-primary-failover',
			stepId: mandatory.stepId,
			reason: 'bridge already open'
		});
		expect(skipped.ok).toBe(true);

		const after = await run.playbookRuns(ctx, manager.actor, { incidentId: inc.id });
		if (!after.ok) throw new Error(after.error.message);
		expect(after.value.suggestions.map((s) => s.id)).not.toContain('database-primary-failover');
		expect(after.value.runs).toHaveLength(1);
		expect(after.value.runs[0]).toMatchObject({ playbookId: 'database-primary-failover', loadedByName: 'Wang Li' });
		expect(after.value.runs[0]!.phases[0]).toEqual({ id: 'assess', title: { 'zh-CN': '确认与评估', en: 'Confirm and assess' } });
		expect(after.value.checklist).toHaveLength(loaded.value.items.length);
		expect(after.value.checklist!.map((i) => i.order)).toEqual([...after.value.checklist!.map((i) => i.order)].sort((a, b) => a - b));
		expect(after.value.checklist!.find((i) => i.key === mandatory.key)).toMatchObject({
			state: 'skipped',
			doneByName: 'Wang Li',
			skipReason: 'bridge already open'
		});
		expect(after.value.deviations).toEqual([
			expect.objectContaining({
				stepId: mandatory.stepId,
				kind: 'skipped',
				reason: 'bridge already open',
				recordedByName: 'Wang Li',
				stepTitle: mandatory.title
			})
		]);
	});

	it('offers nothing to load to a member who may not load, and refuses people outside a restricted incident', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const responder = await makeUser(ctx, { role: 'responder' });
		const inc = await declared(manager);
		const added = await addMember(ctx, manager.actor, { incidentId: inc.id, userId: responder.id, role: 'responder' });
		expect(added.ok).toBe(true);
		const asResponder = await run.playbookRuns(ctx, responder.actor, { incidentId: inc.id });
		if (!asResponder.ok) throw new Error(asResponder.error.message);
		expect(asResponder.value.suggestions).toEqual([]);
		expect(asResponder.value.ref.memberRole).toBe('responder');

		const secret = await declared(manager, { restricted: true });
		const outsider = await makeUser(ctx, { role: 'responder' });
		const denied = await run.playbookRuns(ctx, outsider.actor, { incidentId: secret.id });
		expect(denied.ok).toBe(false);
	});
});

describe(`drills (${dbLabel})`, () => {
	it('declares a drill incident marked as such, with the playbook services, priority and restriction, and loads the playbook', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const r = await run.startDrill(ctx, manager.actor, { playbookId: 'payment-channel-outage' });
		if (!r.ok) throw new Error(r.error.message);
		const inc = await getIncident(ctx, manager.actor, r.value.incidentId);
		if (!inc.ok) throw new Error(inc.error.message);
		expect(inc.value.drill).toBe(true);
		expect(inc.value.title.startsWith(run.DRILL_TITLE_PREFIX)).toBe(true);
		expect(inc.value.priority).toBe('P1');
		expect(inc.value.restricted).toBe(false);
		expect(inc.value.status).not.toBe('proposed');
		// Only the playbook's services that are in the catalogue.
		expect(inc.value.services.map((s) => s.code).sort()).toEqual(['INTERNET-BANKING', 'PAYMENTS']);
		expect(inc.value.me.role).toBe('incident_manager');
		const runs = await svc.incidentPlaybooks(ctx, manager.actor, { incident: run.incidentRefOf(inc.value) });
		expect(runs.ok && runs.value.map((x) => x.playbookId)).toEqual(['payment-channel-outage']);
	});

	it('keeps a restricted playbook restricted in its drill', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const r = await run.startDrill(ctx, manager.actor, { playbookId: 'ransomware-security-breach' });
		if (!r.ok) throw new Error(r.error.message);
		const inc = await getIncident(ctx, manager.actor, r.value.incidentId);
		expect(inc.ok && inc.value.restricted).toBe(true);
	});

	it('refuses responders (they cannot declare) and unknown playbooks', async () => {
		const responder = await makeUser(ctx, { role: 'responder' });
		const manager = await makeUser(ctx, { role: 'manager' });
		const denied = await run.startDrill(ctx, responder.actor, { playbookId: 'payment-channel-outage' });
		expect(denied.ok || denied.error.code).toBe('forbidden');
		const missing = await run.startDrill(ctx, manager.actor, { playbookId: 'no-such-playbook' });
		expect(missing.ok || missing.error.code).toBe('not_found');
		// Nor does a responder see a restricted playbook to drill.
		const hidden = await run.startDrill(ctx, responder.actor, { playbookId: 'ransomware-security-breach' });
		expect(hidden.ok || hidden.error.code).toBe('not_found');
	});

	it('turns a deviation of a drill into an action item, and refuses it for a real incident', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const drill = await run.startDrill(ctx, manager.actor, { playbookId: 'database-primary-failover' });
		if (!drill.ok) throw new Error(drill.error.message);
		const inc = await getIncident(ctx, manager.actor, drill.value.incidentId);
		if (!inc.ok) throw new Error(inc.error.message);
		const dev = await svc.recordDeviation(ctx, manager.actor, {
			incident: run.incidentRefOf(inc.value),
			playbookId: 'database-primary-failover',
			stepId: 'confirm-primary-down',
			reason: 'no second network segment\nto test from'
		});
		if (!dev.ok || !dev.value.deviationId) throw new Error('no deviation');
		const made = await run.actionItemFromDeviation(ctx, manager.actor, {
			incidentId: inc.value.id,
			deviationId: dev.value.deviationId,
			locale: 'en'
		});
		if (!made.ok) throw new Error(made.error.message);
		const items = await listActionItemsOf(ctx, inc.value.id);
		expect(items).toHaveLength(1);
		expect(items[0]).toMatchObject({
			type: 'corrective',
			title: 'Drill: Confirm the state of the primary — no second network segment to test from'
		});

		const unknown = await run.actionItemFromDeviation(ctx, manager.actor, {
			incidentId: inc.value.id,
			deviationId: crypto.randomUUID(),
			locale: 'en'
		});
		expect(unknown.ok || unknown.error.code).toBe('not_found');

		const real = await declared(manager);
		const realRef = run.incidentRefOf(real);
		await svc.loadIntoIncident(ctx, manager.actor, { incident: realRef, playbookId: 'database-primary-failover' });
		const realDev = await svc.recordDeviation(ctx, manager.actor, {
			incident: realRef,
			playbookId: 'database-primary-failover',
			stepId: 'confirm-primary-down',
			reason: 'x'
		});
		if (!realDev.ok || !realDev.value.deviationId) throw new Error('no deviation');
		const refused = await run.actionItemFromDeviation(ctx, manager.actor, {
			incidentId: real.id,
			deviationId: realDev.value.deviationId,
			locale: 'en'
		});
		expect(refused.ok || refused.error.code).toBe('invalid');

		// Access before anything else: someone who may not manage action items is refused as such,
		// on a drill and on a real incident alike (not told which one it is).
		const bystander = await makeUser(ctx, { role: 'responder' });
		for (const incidentId of [inc.value.id, real.id]) {
			const r = await run.actionItemFromDeviation(ctx, bystander.actor, { incidentId, deviationId: crypto.randomUUID(), locale: 'en' });
			expect(r.ok || r.error.code).toBe('forbidden');
		}
	});
});

describe(`communication templates (${dbLabel})`, () => {
	it('prefill the head-office report subject and the status update from the loaded playbook and the incident facts', async () => {
		const { draftCommunication } = await import('../../src/lib/server/services/escalation.service');
		const { saveOrgUnit } = await import('../../src/lib/server/services/catalogue.service');
		const unit = async (input: Record<string, string>) => {
			const r = await saveOrgUnit(ctx, SYSTEM_ACTOR, { input });
			if (!r.ok) throw new Error(r.error.message);
			return r.value.id;
		};
		const hq = await unit({ code: 'TPL-HQ', nameZh: '集团总部', nameEn: 'Group head office', kind: 'head_office' });
		const east = await unit({ code: 'TPL-EAST', nameZh: '华东区域中心', nameEn: 'East regional centre', kind: 'region', parentId: hq });
		const dbTeam = await unit({ code: 'TPL-EAST-DB', nameZh: '华东数据库组', nameEn: 'East database team', kind: 'team', parentId: east });
		const manager = await makeUser(ctx, { role: 'manager', displayName: 'Wang Li', orgUnitId: dbTeam });
		const deputy = await makeUser(ctx, { role: 'manager', displayName: 'Chen Jing' });
		const inc = await declared(manager);
		const panel = await run.playbookRuns(ctx, manager.actor, { incidentId: inc.id });
		if (!panel.ok) throw new Error(panel.error.message);
		const loaded = await svc.loadIntoIncident(ctx, manager.actor, { incident: panel.value.ref, playbookId: 'database-primary-failover' });
		if (!loaded.ok) throw new Error(loaded.error.message);

		const report = await draftCommunication(ctx, deputy.actor, { incidentId: inc.id, kind: 'head_office_report' });
		if (!report.ok) throw new Error(report.error.message);
		// {{organisation.name}} is the regional centre above the incident manager's team.
		expect(report.value.content.text.title?.['zh-CN']).toBe(`【重大故障通报】华东区域中心Core banking down（${inc.number}）`);
		expect(report.value.content.text.title?.en).toBe(`[Major incident report] East regional centre: Core banking down (${inc.number})`);

		const update = await draftCommunication(ctx, deputy.actor, { incidentId: inc.id, kind: 'status_update' });
		if (!update.ok) throw new Error(update.error.message);
		expect(update.value.content.text.body?.['zh-CN']).toContain(inc.number);
		expect(update.value.content.text.body?.['zh-CN']).not.toContain('{{');
	});
});
