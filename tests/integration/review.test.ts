/**
 * The post-incident review on a real database (PGlite, or PostgreSQL with TEST_DATABASE_URL) and a
 * real Yjs document per incident: the draft generated from a seeded incident (timeline, a report to
 * head office with its acknowledgement, a playbook with a done step and a recorded deviation),
 * publishing and versions, the close rule, and the PDF export with its Chinese text.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createEntry, setPinned } from '../../src/lib/collab/incident-doc';
import { sectionText } from '../../src/lib/collab/review-doc';
import { SYSTEM_ACTOR } from '../../src/lib/server/context';
import { loadPlaybooks } from '../../src/lib/server/playbooks/loader';
import { verifyChain } from '../../src/lib/server/services/audit.service';
import { saveOrgUnit, saveService } from '../../src/lib/server/services/catalogue.service';
import {
	acknowledgeReport,
	approveCommunication,
	draftCommunication,
	submitCommunication
} from '../../src/lib/server/services/escalation.service';
import { changeStatus, declareIncident } from '../../src/lib/server/services/incident.service';
import { addMember } from '../../src/lib/server/services/membership.service';
import * as playbooks from '../../src/lib/server/services/playbook.service';
import {
	createActionItem,
	listOpenActionItems,
	sendActionItemReminders,
	updateActionItem
} from '../../src/lib/server/services/action-item.service';
import * as review from '../../src/lib/server/services/review.service';
import { exportReview } from '../../src/lib/server/services/review-export';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';
import { memoryCollab } from '../helpers/memory-collab';

type User = Awaited<ReturnType<typeof makeUser>>;

function must<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
	if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
	return r.value;
}

let ctx: TestContext;
let collab: ReturnType<typeof memoryCollab>;
let manager: User, approver: User, scribe: User, exec: User, outsider: User;
let coreBanking: string;

beforeAll(async () => {
	ctx = await createTestContext();
	collab = memoryCollab();
	ctx.collab = collab;
	ctx.notify = { send: async () => undefined };
	const hq = must(
		await saveOrgUnit(ctx, SYSTEM_ACTOR, { input: { code: 'HQ', nameZh: '总部', nameEn: 'Head office', kind: 'head_office' } })
	);
	coreBanking = must(
		await saveService(ctx, SYSTEM_ACTOR, {
			input: { code: 'CORE-BANKING', nameZh: '核心银行系统', nameEn: 'Core banking', criticality: 'critical', regions: ['east', 'north'] }
		})
	).id;
	manager = await makeUser(ctx, { role: 'manager', displayName: '王丽 Wang Li' });
	approver = await makeUser(ctx, { role: 'manager', displayName: 'Sun Yu' });
	scribe = await makeUser(ctx, { role: 'responder', displayName: 'Zhao Min' });
	exec = await makeUser(ctx, { role: 'viewer', displayName: 'Liu Wei', orgUnitId: hq.id });
	outsider = await makeUser(ctx, { role: 'responder', displayName: 'Outsider' });
	await loadPlaybooks(ctx, path.resolve('playbooks'));
});
afterAll(async () => {
	await ctx?.close();
});
afterEach(() => ctx.setNow(null));

/** A P1 on core banking with a timeline, a head-office report acknowledged, a playbook step done and one skipped with a reason. */
async function seededIncident() {
	ctx.setNow(new Date('2026-10-14T02:00:00Z'));
	const inc = must(
		await declareIncident(ctx, manager.actor, {
			title: '核心银行系统响应缓慢',
			description: 'Core banking answers in 8 s',
			impact: 'extensive',
			urgency: 'high',
			services: [coreBanking],
			detectedAt: '2026-10-14T01:50:00Z'
		})
	).incident;
	must(await addMember(ctx, manager.actor, { incidentId: inc.id, userId: scribe.id, role: 'scribe' }));
	const doc = collab.docs.get(inc.id) ?? (collab.docs.set(inc.id, new Y.Doc()), collab.docs.get(inc.id)!);
	createEntry(doc, {
		id: 'e-late',
		at: '2026-10-14T02:30:00Z',
		recordedAt: '2026-10-14T02:31:00Z',
		kind: 'note',
		text: 'unpinned chatter',
		author: scribe.id,
		authorName: 'Zhao Min'
	});
	createEntry(doc, {
		id: 'e-pin',
		at: '2026-10-14T02:20:00Z',
		recordedAt: '2026-10-14T02:21:00Z',
		kind: 'action',
		text: '切换到备库 Switched to the standby database',
		author: scribe.id,
		authorName: 'Zhao Min'
	});
	setPinned(doc, 'e-pin', true);

	// A report to head office, drafted by the manager and approved by another manager, acknowledged by head office 10 minutes later.
	ctx.setNow(new Date('2026-10-14T02:10:00Z'));
	const draft = must(await draftCommunication(ctx, manager.actor, { incidentId: inc.id, kind: 'head_office_report' }));
	must(await submitCommunication(ctx, manager.actor, { id: draft.id }));
	must(await approveCommunication(ctx, approver.actor, { id: draft.id }));
	ctx.setNow(new Date('2026-10-14T02:20:00Z'));
	must(await acknowledgeReport(ctx, exec.actor, { id: draft.id }));

	// The database failover plan: first step done, a mandatory step skipped with a reason.
	const ref = { id: inc.id, declaredAt: inc.declaredAt!, restricted: false, memberRole: 'incident_manager' as const };
	const loaded = must(await playbooks.loadIntoIncident(ctx, manager.actor, { incident: ref, playbookId: 'database-primary-failover' }));
	const [first, second] = loaded.items;
	must(await playbooks.tickStep(ctx, manager.actor, { incident: ref, playbookId: first!.playbookId, stepId: first!.stepId, done: true }));
	must(
		await playbooks.recordDeviation(ctx, manager.actor, {
			incident: ref,
			playbookId: second!.playbookId,
			stepId: second!.stepId,
			reason: '备库已在运行 standby already active'
		})
	);

	ctx.setNow(new Date('2026-10-14T03:00:00Z'));
	must(await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'mitigated' }));
	ctx.setNow(new Date('2026-10-14T04:00:00Z'));
	must(await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'resolved' }));
	return { inc, first: first!, second: second! };
}

describe(`the post-incident review on ${dbLabel}`, () => {
	it('does not start before the incident is resolved', async () => {
		ctx.setNow(new Date('2026-10-01T00:00:00Z'));
		const inc = must(
			await declareIncident(ctx, manager.actor, { title: 'Still burning', impact: 'moderate', urgency: 'medium', services: [coreBanking] })
		).incident;
		const r = await review.getReview(ctx, manager.actor, { incidentId: inc.id });
		expect(r.ok || r.error.code).toBe('not_resolved');
		expect(await review.hasPublishedReview(ctx, inc.id)).toBe(false);
	});

	it('generates the draft from the incident: impact, key times against targets, pinned timeline first, reports with acks, plan steps and deviations, participants', async () => {
		const { inc, first, second } = await seededIncident();
		ctx.setNow(new Date('2026-10-14T05:00:00Z'));
		const v = must(await review.getReview(ctx, scribe.actor, { incidentId: inc.id }));
		expect(v.state).toBe('draft');
		expect(v.version).toBe(0);
		const f = v.facts;
		expect(f.incident.number).toBe(inc.number);
		expect(f.incident.priority).toBe('P1');
		expect(f.services.map((s) => s.code)).toEqual(['CORE-BANKING']);
		expect(f.regions).toEqual(['east', 'north']);
		expect(f.times.detectedAt).toBe('2026-10-14T01:50:00.000Z');
		expect(f.times.resolvedAt).toBe('2026-10-14T04:00:00.000Z');
		expect(f.durationMs).toBe(130 * 60_000);
		const stage = (k: string) => f.stages.find((s) => s.key === k)!;
		expect(stage('detect_to_declare').ms).toBe(10 * 60_000);
		expect(stage('time_to_mitigate')).toMatchObject({ ms: 70 * 60_000, targetMs: 60 * 60_000, verdict: 'breached' });
		expect(stage('time_to_resolve')).toMatchObject({ ms: 130 * 60_000, verdict: 'met' });

		// Pinned first (the manual pin, then pinned system entries by time), unpinned chatter after them.
		const ids = f.timeline.map((e) => e.id);
		const firstUnpinned = f.timeline.findIndex((e) => !e.pinned);
		expect(f.timeline.slice(0, firstUnpinned).every((e) => e.pinned)).toBe(true);
		expect(ids.indexOf('e-pin')).toBeLessThan(firstUnpinned);
		expect(ids.indexOf('e-late')).toBeGreaterThanOrEqual(firstUnpinned);

		expect(f.reports).toHaveLength(1);
		expect(f.reports[0]!.acks.map((a) => a.name)).toEqual(['Liu Wei']);
		expect(f.reports[0]!.ackDelayMs).toBe(10 * 60_000);

		const plan = f.playbooks.find((p) => p.playbookId === 'database-primary-failover')!;
		expect(plan.steps.find((s) => s.stepId === first.stepId)?.state).toBe('done');
		expect(plan.steps.find((s) => s.stepId === second.stepId)?.state).toBe('skipped');
		expect(plan.done).toBe(1);
		expect(plan.skipped).toBe(1);
		expect(f.deviations).toHaveLength(1);
		expect(f.deviations[0]).toMatchObject({
			stepId: second.stepId,
			kind: 'skipped',
			reason: '备库已在运行 standby already active',
			recordedBy: '王丽 Wang Li'
		});
		expect(f.deviations[0]!.stepTitle?.en).toBe(second.title.en);

		expect(f.participants.map((p) => [p.name, p.role])).toEqual(
			expect.arrayContaining([
				['王丽 Wang Li', 'incident_manager'],
				['Zhao Min', 'scribe']
			])
		);
		// The narrative sections exist in the shared document, ready for live editing.
		expect(sectionText(collab.docs.get(inc.id)!, 'root_cause')).not.toBeNull();
	});

	it('goes draft → in review → published with the manager’s sign-off, freezes and hashes the content, and a revision makes version 2', async () => {
		const { inc } = await seededIncident();
		ctx.setNow(new Date('2026-10-15T01:00:00Z'));
		const v0 = must(await review.getReview(ctx, scribe.actor, { incidentId: inc.id }));
		const doc = collab.docs.get(inc.id)!;
		sectionText(doc, 'root_cause')!.insert(0, '主库磁盘写满 The primary database disk filled up');
		must(
			await createActionItem(ctx, manager.actor, {
				incidentId: inc.id,
				input: { title: 'Alert at 80% disk', type: 'detective', ownerId: scribe.id, dueDate: '2026-10-30', link: 'CHG-1024' }
			})
		);

		// Publishing straight from a draft is refused; a scribe cannot publish.
		expect((await review.publishReview(ctx, manager.actor, { incidentId: inc.id })).ok).toBe(false);
		const submitted = must(await review.submitReview(ctx, scribe.actor, { incidentId: inc.id, expectedVersion: v0.rowVersion }));
		expect(submitted.state).toBe('in_review');
		const stale = await review.publishReview(ctx, manager.actor, { incidentId: inc.id, expectedVersion: v0.rowVersion });
		expect(!stale.ok && stale.error.code).toBe('conflict');
		const byScribe = await review.publishReview(ctx, scribe.actor, { incidentId: inc.id });
		expect(!byScribe.ok && byScribe.error.code).toBe('forbidden');

		const published = must(await review.publishReview(ctx, manager.actor, { incidentId: inc.id, expectedVersion: submitted.rowVersion }));
		expect(published.state).toBe('published');
		expect(published.version).toBe(1);
		expect(published.signedOff?.name).toBe('王丽 Wang Li');
		expect(published.published?.content.narrative.root_cause).toContain('主库磁盘写满');
		expect(published.published?.content.actionItems.map((i) => i.title)).toEqual(['Alert at 80% disk']);
		expect(published.published?.hash).toBe(review.hashContent(published.published!.content));
		expect(await review.hasPublishedReview(ctx, inc.id)).toBe(true);

		const events = await ctx.db
			.selectFrom('audit_events')
			.select(['action', 'after'])
			.where('subject_id', '=', inc.id)
			.where('action', '=', 'review.published')
			.execute();
		const after = (typeof events[0]?.after === 'string' ? JSON.parse(events[0].after) : events[0]?.after) as { contentHash: string };
		expect(after.contentHash).toBe(published.published?.hash);
		expect((await verifyChain(ctx.db)).ok).toBe(true);

		// Editing the live document changes nothing in version 1; a revision publishes version 2.
		sectionText(doc, 'lessons')!.insert(0, 'Watch disk growth');
		const v1 = must(await review.getReviewVersion(ctx, manager.actor, { incidentId: inc.id, version: 1 }));
		expect(v1.content.narrative.lessons).toBe('');
		must(await review.reviseReview(ctx, scribe.actor, { incidentId: inc.id }));
		expect(await review.hasPublishedReview(ctx, inc.id)).toBe(true);
		must(await review.submitReview(ctx, scribe.actor, { incidentId: inc.id }));
		const second = must(await review.publishReview(ctx, manager.actor, { incidentId: inc.id }));
		expect(second.version).toBe(2);
		expect(second.versions.map((x) => x.version)).toEqual([2, 1]);
		expect(second.published?.content.narrative.lessons).toBe('Watch disk growth');
		expect(second.versions[0]!.hash).not.toBe(second.versions[1]!.hash);
	});

	it('closes an incident without a waiver once its review is published, and not before', async () => {
		const { inc } = await seededIncident();
		const early = await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'closed' });
		expect(!early.ok && early.error.code).toBe('review_required');
		const v0 = must(await review.getReview(ctx, scribe.actor, { incidentId: inc.id }));
		const submitted = must(await review.submitReview(ctx, scribe.actor, { incidentId: inc.id, expectedVersion: v0.rowVersion }));
		must(await review.publishReview(ctx, manager.actor, { incidentId: inc.id, expectedVersion: submitted.rowVersion }));
		const closed = must(await changeStatus(ctx, manager.actor, { incidentId: inc.id, to: 'closed' }));
		expect(closed.status).toBe('closed');
		expect(closed.reviewWaived).toBe(false);
	});

	it('hides the review from people who may not see the incident', async () => {
		const { inc } = await seededIncident();
		const r = await review.getReview(ctx, { ...outsider.actor, globalRole: 'viewer' }, { incidentId: inc.id });
		expect(r.ok).toBe(true);
		const w = await review.submitReview(ctx, outsider.actor, { incidentId: inc.id });
		expect(!w.ok && w.error.code).toBe('forbidden');
	});

	it('records a waiver with a reason, refuses an empty one and one after publication', async () => {
		const { inc } = await seededIncident();
		const empty = await review.waiveReview(ctx, manager.actor, { incidentId: inc.id, reason: '  ' });
		expect(!empty.ok && empty.error.code).toBe('required');
		const byScribe = await review.waiveReview(ctx, scribe.actor, { incidentId: inc.id, reason: 'x' });
		expect(!byScribe.ok && byScribe.error.code).toBe('forbidden');
		const waived = must(await review.waiveReview(ctx, manager.actor, { incidentId: inc.id, reason: '重复告警，无需分析 Duplicate alert' }));
		expect(waived.waiver?.reason).toBe('重复告警，无需分析 Duplicate alert');
		expect(await review.hasPublishedReview(ctx, inc.id)).toBe(false);
	});

	it('tracks action items: validation, owner status change, open lists, overdue and one reminder each way', async () => {
		const { inc } = await seededIncident();
		ctx.setNow(new Date('2026-10-20T02:00:00Z'));
		const bad = await createActionItem(ctx, manager.actor, {
			incidentId: inc.id,
			input: { title: '', type: 'nope', dueDate: '2026-13-40', link: 'javascript:alert(1)' }
		});
		expect(!bad.ok && (bad.error as { errors: { field: string }[] }).errors.map((e) => e.field).sort()).toEqual([
			'dueDate',
			'link',
			'title',
			'type'
		]);
		// A NUL, another control character or an unpaired surrogate is a clear error naming the field, not a throw.
		for (const [title, link, codes] of [
			['Fix\u0000it', 'CHG-1\u0000', ['control_characters', 'control_characters']],
			['Fix \uD800 it', 'https://x\u0007', ['invalid_characters', 'control_characters']],
			['two\nlines', '', ['control_characters']]
		] as const) {
			const r = await createActionItem(ctx, manager.actor, { incidentId: inc.id, input: { title, link, type: 'corrective' } });
			expect(!r.ok && (r.error as { errors: { code: string }[] }).errors.map((e) => e.code)).toEqual(codes);
		}
		const byOutsider = await createActionItem(ctx, exec.actor, { incidentId: inc.id, input: { title: 'x', type: 'corrective' } });
		expect(!byOutsider.ok && byOutsider.error.code).toBe('forbidden');
		const item = must(
			await createActionItem(ctx, manager.actor, {
				incidentId: inc.id,
				input: { title: 'Add a disk alarm', type: 'preventive', ownerId: outsider.id, dueDate: '2026-10-22' }
			})
		);
		expect(item.status).toBe('open');

		const mine = must(await listOpenActionItems(ctx, outsider.actor, { scope: 'mine' }));
		expect(mine.items.map((i) => i.id)).toContain(item.id);

		const sent: string[] = [];
		ctx.notify = { send: async (n) => void sent.push(n.event) };
		expect(await sendActionItemReminders(ctx, new Date('2026-10-20T02:00:00Z'))).toMatchObject({ soon: 1 });
		expect(await sendActionItemReminders(ctx, new Date('2026-10-20T03:00:00Z'))).toMatchObject({ soon: 0, overdue: 0 });
		ctx.setNow(new Date('2026-10-24T02:00:00Z'));
		expect(must(await listOpenActionItems(ctx, outsider.actor, { scope: 'overdue' })).items.map((i) => i.id)).toContain(item.id);
		expect(await sendActionItemReminders(ctx, new Date('2026-10-24T02:00:00Z'))).toMatchObject({ overdue: 1 });
		expect(await sendActionItemReminders(ctx, new Date('2026-10-24T03:00:00Z'))).toMatchObject({ overdue: 0 });
		expect(sent.filter((e) => e === 'action_item.overdue')).toHaveLength(1);

		// The owner (not in the response group) may move their own item along, nothing more; done stamps the closing time.
		const done = must(await updateActionItem(ctx, outsider.actor, { id: item.id, input: { status: 'done' } }));
		expect(done.closedAt?.toISOString()).toBe('2026-10-24T02:00:00.000Z');
		const retitle = await updateActionItem(ctx, outsider.actor, { id: item.id, input: { title: 'Other' } });
		expect(!retitle.ok && retitle.error.code).toBe('forbidden');
		ctx.notify = { send: async () => undefined };
	});

	it('exports Markdown and a PDF whose extracted text holds the Chinese and English', async () => {
		const { inc } = await seededIncident();
		ctx.setNow(new Date('2026-10-15T01:00:00Z'));
		must(await review.getReview(ctx, manager.actor, { incidentId: inc.id }));
		sectionText(collab.docs.get(inc.id)!, 'root_cause')!.insert(0, '主库磁盘写满 The primary database disk filled up');
		const md = must(await exportReview(ctx, manager.actor, { incidentId: inc.id, format: 'md', locale: 'zh-CN' }));
		expect(md.contentType).toContain('text/markdown');
		expect(String(md.body)).toContain('# 故障分析报告');
		expect(String(md.body)).toContain('主库磁盘写满 The primary database disk filled up');

		const pdf = must(await exportReview(ctx, manager.actor, { incidentId: inc.id, format: 'pdf', locale: 'zh-CN' }));
		expect(pdf.contentType).toBe('application/pdf');
		const bytes = pdf.body as Uint8Array;
		expect(Buffer.from(bytes.subarray(0, 5)).toString()).toBe('%PDF-');
		// Subset font: far smaller than the 10 MB font file.
		expect(bytes.length).toBeLessThan(2_000_000);
		const text = await pdfText(bytes);
		expect(text).toContain('故障分析报告');
		expect(text).toContain('主库磁盘写满');
		expect(text).toContain('The primary database disk filled up');
		expect(text).toContain('核心银行系统');
		const denied = await exportReview(ctx, outsider.actor, { incidentId: inc.id, format: 'pdf', locale: 'en' });
		expect(!denied.ok && denied.error.code).toBe('forbidden');
	});
});

/** All text of a PDF, as pdf.js extracts it (page by page, items joined without separators). */
async function pdfText(bytes: Uint8Array): Promise<string> {
	const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
	const doc = await pdfjs.getDocument({ data: new Uint8Array(bytes), useSystemFonts: false, isEvalSupported: false }).promise;
	let out = '';
	for (let p = 1; p <= doc.numPages; p++) {
		const page = await doc.getPage(p);
		const content = await page.getTextContent();
		out += content.items.map((i) => ('str' in i ? i.str : '')).join('') + '\n';
	}
	await doc.destroy();
	return out;
}
