/**
 * The playbook library and playbook runs, on a real database (PGlite, or PostgreSQL with
 * TEST_DATABASE_URL) and a real Yjs document per incident.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { checklistOf, listEntries } from '../../src/lib/collab/incident-doc';
import { readChecklist } from '../../src/lib/domain/checklist';
import { loadPlaybooks } from '../../src/lib/server/playbooks/loader';
import * as svc from '../../src/lib/server/services/playbook.service';
import { verifyChain } from '../../src/lib/server/services/audit.service';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';
import { memoryCollab } from '../helpers/memory-collab';

const FIXTURES = path.resolve('tests/fixtures/playbooks');
const MINIMAL = path.join(FIXTURES, 'valid/minimal.yaml');
const FULL = path.join(FIXTURES, 'valid/full.yaml');

let ctx: TestContext;
let collab: ReturnType<typeof memoryCollab>;
const tmpDirs: string[] = [];

async function tempDir(files: Record<string, string> = {}): Promise<string> {
	const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warroom-playbooks-'));
	tmpDirs.push(dir);
	for (const [name, text] of Object.entries(files)) await fs.writeFile(path.join(dir, name), text);
	return dir;
}

const read = (p: string) => fs.readFile(p, 'utf8');

/**
 * The loader treats its directory as the whole set of file playbooks (a file that is gone is
 * withdrawn), so tests that need the shipped playbooks load a copy of them plus their own files.
 */
async function shippedPlus(files: Record<string, string> = {}): Promise<string> {
	const shipped: Record<string, string> = {};
	for (const name of await fs.readdir('playbooks')) if (/\.ya?ml$/.test(name)) shipped[name] = await read(path.join('playbooks', name));
	return tempDir({ ...shipped, ...files });
}

beforeAll(async () => {
	ctx = await createTestContext();
	collab = memoryCollab();
	ctx.collab = collab;
});
afterAll(async () => {
	await ctx.close();
	for (const d of tmpDirs) await fs.rm(d, { recursive: true, force: true });
});
afterEach(() => ctx.setNow(null));

describe(`the start-up loader (${dbLabel})`, () => {
	it('keeps the valid files and reports every broken one with path, line and column, without throwing', async () => {
		const dir = await tempDir({
			'minimal.yaml': await read(MINIMAL),
			'full.yaml': await read(FULL),
			'yaml-syntax.yaml': await read(path.join(FIXTURES, 'broken/yaml-syntax.yaml')),
			'unknown-role.yaml': await read(path.join(FIXTURES, 'broken/unknown-role.yaml')),
			'notes.txt': 'not a playbook, not looked at'
		});
		const report = await loadPlaybooks(ctx, dir);
		expect(report.valid.sort()).toEqual(['full-example', 'minimal']);
		expect(report.broken.map((b) => path.basename(b.path)).sort()).toEqual(['unknown-role.yaml', 'yaml-syntax.yaml']);
		const syntax = report.broken.find((b) => b.path.endsWith('yaml-syntax.yaml'))!;
		expect(syntax.errors[0]).toMatchObject({ code: 'yaml_syntax' });
		expect(syntax.errors[0]!.line).toBeGreaterThan(1);
		const role = report.broken.find((b) => b.path.endsWith('unknown-role.yaml'))!;
		expect(role.errors[0]).toMatchObject({ code: 'unknown_role', field: expect.stringContaining('owner') });

		const admin = await makeUser(ctx, { role: 'admin' });
		const broken = svc.brokenPlaybooks(ctx, admin.actor);
		expect(broken.ok && broken.value.length).toBe(2);
		const listed = await svc.listPlaybooks(ctx, admin.actor);
		expect(listed.map((p) => p.id)).toEqual(expect.arrayContaining(['full-example', 'minimal']));
	});

	it('reports a missing directory and starts with what the database already holds', async () => {
		const report = await loadPlaybooks(ctx, path.join(os.tmpdir(), 'warroom-no-such-dir-' + Date.now()));
		expect(report.valid).toEqual([]);
		expect(report.withdrawn.sort()).toEqual(['full-example', 'minimal']);
		const responder = await makeUser(ctx, { role: 'responder' });
		expect((await svc.listPlaybooks(ctx, responder.actor)).map((p) => p.id)).not.toContain('minimal');
		// The playbook itself is kept (past incidents link to it).
		expect((await svc.getPlaybook(ctx, responder.actor, { id: 'minimal' })).ok).toBe(true);
	});

	it('stores a new version when a file changes, and none when it is loaded again unchanged', async () => {
		const text = (await read(MINIMAL)).replace('id: minimal', 'id: versioned');
		const dir = await tempDir({ 'versioned.yaml': text });
		const first = await loadPlaybooks(ctx, dir);
		expect(first.newVersions).toEqual(['versioned']);
		const again = await loadPlaybooks(ctx, dir);
		expect(again.newVersions).toEqual([]);
		expect(again.valid).toEqual(['versioned']);

		await fs.writeFile(
			path.join(dir, 'versioned.yaml'),
			text.replace('version: 1', 'version: 2').replace('Confirm the fault', 'Confirm the fault and its scope')
		);
		const changed = await loadPlaybooks(ctx, dir);
		expect(changed.newVersions).toEqual(['versioned']);

		const admin = await makeUser(ctx, { role: 'admin' });
		const detail = await svc.getPlaybook(ctx, admin.actor, { id: 'versioned' });
		if (!detail.ok) throw new Error(detail.error.message);
		expect(detail.value.versions.map((v) => [v.seq, v.version, v.current])).toEqual([
			[2, 2, true],
			[1, 1, false]
		]);
		expect(detail.value.playbook.phases[0]!.steps[0]!.title.en).toBe('Confirm the fault and its scope');
	});

	it('refuses changed text under the same version number, keeping the last good version current', async () => {
		const text = (await read(MINIMAL)).replace('id: minimal', 'id: unbumped');
		const dir = await tempDir({ 'unbumped.yaml': text });
		await loadPlaybooks(ctx, dir);
		await fs.writeFile(path.join(dir, 'unbumped.yaml'), text.replace('Confirm the fault', 'Confirm it'));
		const report = await loadPlaybooks(ctx, dir);
		expect(report.valid).toEqual([]);
		const issue = report.broken[0]!.errors[0]!;
		expect(issue).toMatchObject({ field: 'version', line: 3, column: 10 });
		expect(issue.message).toMatch(/raise version to 2/);
		const admin = await makeUser(ctx, { role: 'admin' });
		const detail = await svc.getPlaybook(ctx, admin.actor, { id: 'unbumped' });
		expect(detail.ok && detail.value.versions.length).toBe(1);
		expect(detail.ok && detail.value.summary.withdrawn).toBe(false);
	});

	it('loads every shipped playbook in playbooks/ without an issue', async () => {
		const report = await loadPlaybooks(ctx, path.resolve('playbooks'));
		expect(report.broken).toEqual([]);
		expect(report.valid.length).toBeGreaterThanOrEqual(8);
	});
});

describe(`importing through the UI (${dbLabel})`, () => {
	it('validates an upload exactly like a file, with line and column', async () => {
		const admin = await makeUser(ctx, { role: 'admin' });
		const r = await svc.importPlaybook(ctx, admin.actor, {
			fileName: 'bad.yaml',
			text: await read(path.join(FIXTURES, 'broken/negative-time-target.yaml'))
		});
		expect(r.ok).toBe(false);
		if (r.ok) return;
		expect(r.error.code).toBe('invalid_playbook');
		expect(r.error.issues?.[0]).toMatchObject({ path: 'bad.yaml', code: 'invalid_time_target' });
		expect(r.error.issues?.[0]!.line).toBeGreaterThan(1);
		expect(r.error.issues?.[0]!.column).toBeGreaterThan(1);
	});

	it('stores imports with their version history and treats an identical upload as no change', async () => {
		const admin = await makeUser(ctx, { role: 'admin' });
		const v1 = (await read(MINIMAL)).replace('id: minimal', 'id: imported-plan');
		const first = await svc.importPlaybook(ctx, admin.actor, { fileName: 'imported-plan.yaml', text: v1 });
		expect(first.ok && first.value.created).toBe(true);
		const same = await svc.importPlaybook(ctx, admin.actor, { fileName: 'imported-plan.yaml', text: v1 });
		expect(same.ok && same.value.created).toBe(false);
		const v2 = v1.replace('version: 1', 'version: 2').replace('Service is back to normal.', 'Service is back to normal for 30 minutes.');
		const second = await svc.importPlaybook(ctx, admin.actor, { fileName: 'imported-plan.yaml', text: v2 });
		expect(second.ok && second.value.created).toBe(true);
		const detail = await svc.getPlaybook(ctx, admin.actor, { id: 'imported-plan' });
		if (!detail.ok) throw new Error(detail.error.message);
		expect(detail.value.summary.source).toBe('import');
		expect(detail.value.versions.map((v) => v.version)).toEqual([2, 1]);
		expect(detail.value.versions.every((v) => v.importedBy === admin.id)).toBe(true);
		const old = await svc.getPlaybook(ctx, admin.actor, { id: 'imported-plan', versionId: detail.value.versions[1]!.id });
		expect(old.ok && old.value.sourceText).toBe(v1);
		expect((await verifyChain(ctx.db)).ok).toBe(true);
	});

	it('does not let an upload take over the id of a file playbook', async () => {
		const dir = await tempDir({ 'owned.yaml': (await read(MINIMAL)).replace('id: minimal', 'id: file-owned') });
		await loadPlaybooks(ctx, dir);
		const admin = await makeUser(ctx, { role: 'admin' });
		const text = (await read(MINIMAL)).replace('id: minimal', 'id: file-owned').replace('version: 1', 'version: 9');
		const r = await svc.importPlaybook(ctx, admin.actor, { fileName: 'x.yaml', text });
		expect(!r.ok && r.error.issues?.[0]).toMatchObject({ code: 'duplicate_playbook_id', line: 2, column: 5 });
	});

	it('rejects an empty upload and one that is not UTF-8 text', async () => {
		const admin = await makeUser(ctx, { role: 'admin' });
		const empty = await svc.importPlaybook(ctx, admin.actor, { fileName: 'e.yaml', text: '  ' });
		expect(!empty.ok && empty.error).toMatchObject({ code: 'required', field: 'file' });
		const binary = await svc.importPlaybook(ctx, admin.actor, {
			fileName: 'b.yaml',
			text: new TextDecoder().decode(new Uint8Array([0xff, 0xfe, 0x00]))
		});
		expect(!binary.ok && binary.error.code).toBe('invalid_encoding');
	});

	it('lets only admins import or see the broken files', async () => {
		const text = (await read(MINIMAL)).replace('id: minimal', 'id: responder-try');
		for (const role of ['responder', 'manager', 'viewer'] as const) {
			const user = await makeUser(ctx, { role });
			const r = await svc.importPlaybook(ctx, user.actor, { fileName: 'r.yaml', text });
			expect(!r.ok && r.error.code).toBe('forbidden');
			expect(svc.brokenPlaybooks(ctx, user.actor).ok).toBe(false);
		}
	});
});

describe(`library visibility and search (${dbLabel})`, () => {
	beforeAll(async () => {
		await loadPlaybooks(ctx, await shippedPlus());
	});

	it('searches both languages and filters by category and service', async () => {
		const user = await makeUser(ctx, { role: 'responder' });
		const zh = await svc.listPlaybooks(ctx, user.actor, { query: '数据库' });
		expect(zh.map((p) => p.id)).toContain('database-primary-failover');
		const en = await svc.listPlaybooks(ctx, user.actor, { query: 'standby' });
		expect(en.map((p) => p.id)).toContain('database-primary-failover');
		const pay = await svc.listPlaybooks(ctx, user.actor, { category: 'payment' });
		expect(pay.length).toBeGreaterThan(0);
		expect(pay.every((p) => p.category === 'payment')).toBe(true);
		const atm = await svc.listPlaybooks(ctx, user.actor, { service: 'atm' });
		expect(atm.length).toBeGreaterThan(0);
		expect(atm.every((p) => p.services.includes('ATM'))).toBe(true);
		expect(await svc.listPlaybooks(ctx, user.actor, { query: '100%_' })).toEqual([]);
	});

	it('shows restricted playbooks only to admins and managers', async () => {
		const responder = await makeUser(ctx, { role: 'responder' });
		const manager = await makeUser(ctx, { role: 'manager' });
		expect((await svc.listPlaybooks(ctx, responder.actor)).some((p) => p.restricted)).toBe(false);
		expect((await svc.getPlaybook(ctx, responder.actor, { id: 'ransomware-security-breach' })).ok).toBe(false);
		expect((await svc.listPlaybooks(ctx, manager.actor)).map((p) => p.id)).toContain('ransomware-security-breach');
		const suggested = await svc.suggestForIncident(ctx, responder.actor, { serviceCodes: ['EMAIL'], category: 'security' });
		expect(suggested.map((s) => s.id)).not.toContain('ransomware-security-breach');
	});

	it('suggests playbooks for an incident, scenario first, then most services in common', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const s = await svc.suggestForIncident(ctx, manager.actor, { serviceCodes: ['core-banking'], category: 'database' });
		expect(s[0]).toMatchObject({ id: 'database-primary-failover', categoryMatch: true, matchedServices: ['CORE-BANKING'] });
		expect(s.slice(1).every((x) => x.matchedServices.includes('CORE-BANKING'))).toBe(true);
		expect(await svc.suggestForIncident(ctx, manager.actor, { serviceCodes: ['NOTHING-HERE'] })).toEqual([]);
	});
});

describe(`running a playbook in an incident (${dbLabel})`, () => {
	const declaredAt = new Date('2026-03-14T02:00:00Z');
	const loadAt = new Date('2026-03-14T02:05:00Z');
	let seq = 0;
	const incident = (over: Partial<svc.IncidentRef> = {}): svc.IncidentRef => ({
		id: `inc-${++seq}-${Date.now()}`,
		declaredAt,
		restricted: false,
		memberRole: null,
		...over
	});
	let snapText = '';
	let runDir = '';
	beforeAll(async () => {
		snapText = (await read(MINIMAL)).replace('id: minimal', 'id: snap');
		runDir = await shippedPlus({ 'snap.yaml': snapText });
		await loadPlaybooks(ctx, runDir);
	});

	it('snapshots the current version: editing the file later changes nothing in the incident', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const inc = incident();
		ctx.setNow(loadAt);
		const r = await svc.loadIntoIncident(ctx, manager.actor, { incident: inc, playbookId: 'snap' });
		if (!r.ok) throw new Error(r.error.message);
		expect(r.value.run.version).toBe(1);

		await fs.writeFile(
			path.join(runDir, 'snap.yaml'),
			snapText.replace('version: 1', 'version: 2').replace('Confirm the fault', 'Something else entirely')
		);
		const report = await loadPlaybooks(ctx, runDir);
		expect(report.newVersions).toEqual(['snap']);

		const runs = await svc.incidentPlaybooks(ctx, manager.actor, { incident: inc });
		if (!runs.ok) throw new Error(runs.error.message);
		expect(runs.value).toHaveLength(1);
		expect(runs.value[0]!.version).toBe(1);
		expect(runs.value[0]!.playbook.phases[0]!.steps[0]!.title.en).toBe('Confirm the fault');
		const items = readChecklist(checklistOf(collab.docs.get(inc.id)!).toJSON());
		expect(items.map((i) => i.title.en)).toEqual(['Confirm the fault']);
	});

	it('writes the checklist into the incident document with due times, and a timeline entry', async () => {
		const manager = await makeUser(ctx, { role: 'manager', displayName: 'Wang Fang' });
		const inc = incident();
		ctx.setNow(loadAt);
		const r = await svc.loadIntoIncident(ctx, manager.actor, { incident: inc, playbookId: 'database-primary-failover' });
		if (!r.ok) throw new Error(r.error.message);
		const doc = collab.docs.get(inc.id)!;
		const map = checklistOf(doc);
		expect(map.size).toBe(r.value.items.length);
		const first = r.value.items[0]!;
		const stored = map.get(first.key);
		expect(stored).toBeInstanceOf(Y.Map);
		expect((stored as Y.Map<unknown>).get('state')).toBe('open');
		expect((stored as Y.Map<unknown>).get('title')).toEqual(first.title);
		const expectedDue = first.timeTargetFrom === 'declaration' ? declaredAt : loadAt;
		expect(first.dueAt).toBe(new Date(expectedDue.getTime() + first.timeTargetMinutes * 60_000).toISOString());
		const entries = listEntries(doc);
		expect(entries).toHaveLength(1);
		expect(entries[0]).toMatchObject({ kind: 'playbook', author: null });
		expect(entries[0]!.i18n?.en).toContain('Wang Fang loaded the playbook');
		expect(entries[0]!.i18n?.['zh-CN']).toContain('载入应急预案');

		// Twice is refused; a second, different playbook runs alongside.
		const again = await svc.loadIntoIncident(ctx, manager.actor, { incident: inc, playbookId: 'database-primary-failover' });
		expect(!again.ok && again.error.code).toBe('conflict');
		const other = await svc.loadIntoIncident(ctx, manager.actor, { incident: inc, playbookId: 'storage-array-failure' });
		expect(other.ok).toBe(true);
		expect(readChecklist(map.toJSON()).map((i) => i.playbookId)).toEqual(
			expect.arrayContaining(['database-primary-failover', 'storage-array-failure'])
		);
	});

	it('leaves ticks alone when the checklist is ensured again', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const inc = incident();
		const r = await svc.loadIntoIncident(ctx, manager.actor, { incident: inc, playbookId: 'storage-array-failure' });
		if (!r.ok) throw new Error(r.error.message);
		const key = r.value.items[0]!.key;
		const t = await svc.tickStep(ctx, manager.actor, {
			incident: inc,
			playbookId: 'storage-array-failure',
			stepId: r.value.items[0]!.stepId,
			done: true
		});
		expect(t.ok).toBe(true);
		checklistOf(collab.docs.get(inc.id)!).delete(r.value.items[1]!.key);
		expect(await svc.ensureChecklist(ctx, { incident: inc })).toBe(1);
		const item = readChecklist(checklistOf(collab.docs.get(inc.id)!).toJSON()).find((i) => i.key === key)!;
		expect(item).toMatchObject({ state: 'done', doneBy: manager.id });
	});

	it('needs a reason to skip a mandatory step, and records it as a deviation with audit and timeline', async () => {
		const responder = await makeUser(ctx, { role: 'responder', displayName: 'Zhao Lei' });
		const manager = await makeUser(ctx, { role: 'manager' });
		const inc = incident({ memberRole: 'technical_lead' });
		ctx.setNow(loadAt);
		const loaded = await svc.loadIntoIncident(ctx, manager.actor, { incident: inc, playbookId: 'database-primary-failover' });
		if (!loaded.ok) throw new Error(loaded.error.message);
		const mandatory = loaded.value.items.find((i) => i.mandatory)!;
		const optional = loaded.value.items.find((i) => !i.mandatory);

		const noReason = await svc.recordDeviation(ctx, responder.actor, {
			incident: inc,
			playbookId: mandatory.playbookId,
			stepId: mandatory.stepId,
			reason: '   '
		});
		expect(!noReason.ok && noReason.error).toMatchObject({ code: 'reason_required', field: 'reason' });

		ctx.setNow(new Date('2026-03-14T02:30:00Z'));
		const r = await svc.recordDeviation(ctx, responder.actor, {
			incident: inc,
			playbookId: mandatory.playbookId,
			stepId: mandatory.stepId,
			reason: 'Standby already promoted by the DBA on call'
		});
		if (!r.ok) throw new Error(r.error.message);
		expect(r.value.deviationId).toBeTruthy();

		const devs = await svc.listDeviations(ctx, manager.actor, { incident: inc });
		expect(devs.ok && devs.value).toEqual([
			expect.objectContaining({
				id: r.value.deviationId,
				stepId: mandatory.stepId,
				kind: 'skipped',
				reason: 'Standby already promoted by the DBA on call',
				recordedBy: responder.id
			})
		]);
		const item = readChecklist(checklistOf(collab.docs.get(inc.id)!).toJSON()).find((i) => i.key === mandatory.key)!;
		expect(item).toMatchObject({
			state: 'skipped',
			skipReason: 'Standby already promoted by the DBA on call',
			doneByName: 'Zhao Lei',
			doneAt: '2026-03-14T02:30:00.000Z'
		});
		const last = listEntries(collab.docs.get(inc.id)!).at(-1)!;
		expect(last.i18n?.en).toContain('skipped the mandatory step');
		const events = await ctx.db
			.selectFrom('audit_events')
			.selectAll()
			.where('action', '=', 'incident.playbook_deviation')
			.where('subject_id', '=', inc.id)
			.execute();
		expect(events).toHaveLength(1);

		const twice = await svc.recordDeviation(ctx, responder.actor, {
			incident: inc,
			playbookId: mandatory.playbookId,
			stepId: mandatory.stepId,
			reason: 'again'
		});
		expect(!twice.ok && twice.error.code).toBe('conflict');

		if (optional) {
			const skip = await svc.recordDeviation(ctx, responder.actor, {
				incident: inc,
				playbookId: optional.playbookId,
				stepId: optional.stepId,
				reason: ''
			});
			expect(skip.ok && skip.value.deviationId).toBeNull();
		}
		const late = await svc.recordDeviation(ctx, responder.actor, {
			incident: inc,
			playbookId: mandatory.playbookId,
			stepId: mandatory.stepId,
			reason: '',
			kind: 'late'
		});
		expect(!late.ok && late.error.code).toBe('reason_required');
		const unknown = await svc.recordDeviation(ctx, responder.actor, {
			incident: inc,
			playbookId: mandatory.playbookId,
			stepId: 'no-such-step',
			reason: 'x'
		});
		expect(!unknown.ok && unknown.error).toMatchObject({ code: 'not_found', field: 'stepId' });
	});

	it('applies the incident permissions: observers and non-members cannot skip, responders cannot load', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const responder = await makeUser(ctx, { role: 'responder' });
		const inc = incident();
		const asResponder = await svc.loadIntoIncident(ctx, responder.actor, {
			incident: { ...inc, memberRole: 'responder' },
			playbookId: 'storage-array-failure'
		});
		expect(!asResponder.ok && asResponder.error.code).toBe('forbidden');
		const asLead = await svc.loadIntoIncident(ctx, responder.actor, {
			incident: { ...inc, memberRole: 'technical_lead' },
			playbookId: 'storage-array-failure'
		});
		expect(asLead.ok).toBe(true);
		if (!asLead.ok) return;
		const step = asLead.value.items[0]!;
		for (const memberRole of [null, 'observer'] as const) {
			const r = await svc.recordDeviation(ctx, responder.actor, {
				incident: { ...inc, memberRole },
				playbookId: step.playbookId,
				stepId: step.stepId,
				reason: 'x'
			});
			expect(!r.ok && r.error.code).toBe('forbidden');
		}
		expect(
			(await svc.tickStep(ctx, manager.actor, { incident: inc, playbookId: step.playbookId, stepId: step.stepId, done: true })).ok
		).toBe(true);
	});

	it('loads a restricted playbook only into a restricted incident, and only for admins and managers', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const responder = await makeUser(ctx, { role: 'responder' });
		const open = await svc.loadIntoIncident(ctx, manager.actor, { incident: incident(), playbookId: 'ransomware-security-breach' });
		expect(!open.ok && open.error.code).toBe('restricted_playbook');
		const lead = await svc.loadIntoIncident(ctx, responder.actor, {
			incident: incident({ restricted: true, memberRole: 'incident_manager' }),
			playbookId: 'ransomware-security-breach'
		});
		expect(!lead.ok && lead.error.code).toBe('not_found');
		const ok = await svc.loadIntoIncident(ctx, manager.actor, {
			incident: incident({ restricted: true, memberRole: 'incident_manager' }),
			playbookId: 'ransomware-security-breach'
		});
		expect(ok.ok).toBe(true);
	});

	it('still records the load when there is no live document in this process', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const inc = incident();
		const saved = ctx.collab;
		ctx.collab = undefined;
		try {
			const r = await svc.loadIntoIncident(ctx, manager.actor, { incident: inc, playbookId: 'storage-array-failure' });
			expect(r.ok).toBe(true);
		} finally {
			ctx.collab = saved;
		}
		expect(collab.docs.has(inc.id)).toBe(false);
		expect(await svc.ensureChecklist(ctx, { incident: inc })).toBeGreaterThan(0);
	});
});
