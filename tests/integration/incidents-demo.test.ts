import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoIncidents } from '../../src/lib/server/demo-incidents';
import { seedDemo } from '../../src/lib/server/demo';
import * as usersRepo from '../../src/lib/server/repositories/users.repository';
import { verifyChain } from '../../src/lib/server/services/audit.service';
import { getIncident, listIncidents } from '../../src/lib/server/services/incident.service';
import { actorFromUser } from '../../src/lib/server/services/users.service';
import { createTestContext, dbLabel, type TestContext } from '../helpers/context';

let ctx: TestContext;

beforeAll(async () => {
	ctx = await createTestContext();
	expect(await seedDemo(ctx, [seedDemoIncidents])).toBe(true);
});

afterAll(async () => {
	await ctx?.close();
});

describe(`demo incidents on ${dbLabel}`, () => {
	it('give a newcomer an active P1 with its response group, a proposal and a resolved incident', async () => {
		const manager = actorFromUser((await usersRepo.findByUsername(ctx.db, 'manager'))!);
		const all = await listIncidents(ctx, manager, {});
		expect(all.ok && all.value.map((i) => [i.status, i.priority]).sort()).toEqual([
			['identified', 'P1'],
			['proposed', 'P2'],
			['resolved', 'P2']
		]);
		const p1 = all.ok ? all.value.find((i) => i.priority === 'P1')! : undefined;
		const view = await getIncident(ctx, manager, p1!.id);
		if (!view.ok) throw new Error(view.error.message);
		const roles = Object.fromEntries(view.value.members.map((m) => [m.username, m.role]));
		expect(roles).toEqual({ manager: 'incident_manager', responder: 'technical_lead', responder2: 'technical_lead', exec: 'observer' });
		expect(view.value.unacknowledged.map((m) => m.username)).toEqual(['responder2']);
		expect(view.value.times.firstAckedAt).not.toBeNull();
		expect(view.value.title).toContain('核心银行系统响应缓慢');
		expect(await verifyChain(ctx.db)).toMatchObject({ ok: true });
	});
});
