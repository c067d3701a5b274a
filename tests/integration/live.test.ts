import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/lib/server/context';
import { saveService } from '../../src/lib/server/services/catalogue.service';
import { declareIncident } from '../../src/lib/server/services/incident.service';
import { subscribeLive, type LiveMessage } from '../../src/lib/server/services/live.service';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';

let ctx: TestContext;
beforeAll(async () => {
	ctx = await createTestContext();
	const r = await saveService(ctx, SYSTEM_ACTOR, {
		input: { code: 'CORE-BANKING', nameZh: '核心银行系统', nameEn: 'Core banking', criticality: 'critical' }
	});
	if (!r.ok) throw new Error(r.error.message);
});
afterAll(async () => {
	await ctx.close();
});

const settle = () => new Promise((r) => setTimeout(r, 150));

describe(`live page updates (${dbLabel})`, () => {
	it('tells everyone about an open incident but only its members about a restricted one', async () => {
		const manager = await makeUser(ctx, { role: 'manager' });
		const outsider = await makeUser(ctx, { role: 'responder' });
		const viewer = await makeUser(ctx, { role: 'viewer' });
		const open = await declareIncident(ctx, manager.actor, {
			title: 'Open one',
			impact: 'significant',
			urgency: 'high',
			services: ['CORE-BANKING']
		});
		const secret = await declareIncident(ctx, manager.actor, {
			title: 'Ransomware on a file server',
			impact: 'significant',
			urgency: 'high',
			services: ['CORE-BANKING'],
			restricted: true
		});
		if (!open.ok || !secret.ok) throw new Error('declare failed');
		const heard = new Map<string, LiveMessage[]>();
		const offs = [manager, outsider, viewer].map((u) => {
			heard.set(u.username, []);
			return subscribeLive(ctx, u.actor, (m) => heard.get(u.username)!.push(m));
		});
		ctx.events.publish({ type: 'incident.changed', incidentId: open.value.incident.id, what: 'status' });
		ctx.events.publish({ type: 'incident.changed', incidentId: secret.value.incident.id, what: 'status' });
		ctx.events.publish({ type: 'incident.changed', incidentId: 'no-such-incident', what: 'status' });
		await settle();
		for (const off of offs) off();
		const ids = (name: string) =>
			heard
				.get(name)!
				.map((m) => m.incidentId)
				.sort();
		expect(ids(manager.username)).toEqual([open.value.incident.id, secret.value.incident.id].sort());
		expect(ids(outsider.username)).toEqual([open.value.incident.id]);
		expect(ids(viewer.username)).toEqual([open.value.incident.id]);
	});

	it('sends a notification signal only to its recipient', async () => {
		const a = await makeUser(ctx);
		const b = await makeUser(ctx);
		const got: string[] = [];
		const offA = subscribeLive(ctx, a.actor, (m) => got.push(`a:${m.type}`));
		const offB = subscribeLive(ctx, b.actor, (m) => got.push(`b:${m.type}`));
		ctx.events.publish({ type: 'notification.created', userId: a.id, notificationId: 'n1' });
		await settle();
		offA();
		offB();
		expect(got).toEqual(['a:notification']);
	});

	it('tells every page to reload when events from other processes may have been lost', async () => {
		const a = await makeUser(ctx);
		const got: LiveMessage[] = [];
		const offA = subscribeLive(ctx, a.actor, (m) => got.push(m));
		const offAnon = subscribeLive(ctx, SYSTEM_ACTOR, (m) => got.push(m));
		ctx.events.deliver({ type: 'events.missed' });
		await settle();
		offA();
		offAnon();
		// An incident message that names no incident: the board, the list and every incident page reload.
		expect(got.map((m) => [m.type, m.incidentId])).toEqual([
			['incident', undefined],
			['incident', undefined]
		]);
	});
});
