import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/lib/server/context';
import { verifyChain } from '../../src/lib/server/services/audit.service';
import { saveOrgUnit, saveService } from '../../src/lib/server/services/catalogue.service';
import { createUser, updateUser } from '../../src/lib/server/services/users.service';
import { seedDemo, DEMO_ACCOUNTS } from '../../src/lib/server/demo';
import { login } from '../../src/lib/server/services/auth.service';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';

let ctx: TestContext;
beforeAll(async () => {
	ctx = await createTestContext();
});
afterAll(async () => {
	await ctx.close();
});

describe(`users, organisation and the audit chain (${dbLabel})`, () => {
	it('seeds the demo organisation once, and its accounts log in with the demo password', async () => {
		expect(await seedDemo(ctx)).toBe(true);
		expect(await seedDemo(ctx)).toBe(false);
		for (const a of DEMO_ACCOUNTS) {
			const r = await login(ctx, { username: a.username, password: 'demo-password', ip: null, userAgent: null });
			expect(r.ok, a.username).toBe(true);
		}
	});

	it('lets only admins create users', async () => {
		const responder = await makeUser(ctx, { role: 'responder' });
		const r = await createUser(ctx, responder.actor, {
			username: 'sneaky',
			displayName: 'S',
			globalRole: 'admin',
			password: 'long-enough-pass'
		});
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.error.code).toBe('forbidden');
	});

	it('reports every invalid field of a new user by name', async () => {
		const r = await createUser(ctx, SYSTEM_ACTOR, {
			username: 'Bad Name!',
			displayName: '',
			globalRole: 'king',
			password: 'short',
			email: 'nope'
		});
		expect(r.ok).toBe(false);
		if (r.ok || !('errors' in r.error)) throw new Error('expected field errors');
		const fields = r.error.errors.map((e) => e.field).sort();
		expect(fields).toEqual(['displayName', 'email', 'globalRole', 'password', 'username']);
	});

	it('refuses a duplicate username whatever its case', async () => {
		const u = await makeUser(ctx);
		const r = await createUser(ctx, SYSTEM_ACTOR, {
			username: u.username.toUpperCase(),
			displayName: 'X',
			globalRole: 'viewer',
			password: 'long-enough-pass'
		});
		expect(r.ok).toBe(false);
		if (!r.ok && 'errors' in r.error) expect(r.error.errors[0]?.code).toBe('taken');
	});

	it('refuses to put an organisation unit under its own descendant', async () => {
		const top = await saveOrgUnit(ctx, SYSTEM_ACTOR, { input: { code: 'CYC-A', nameZh: '甲', nameEn: 'A', kind: 'head_office' } });
		if (!top.ok) throw new Error(top.error.message);
		const child = await saveOrgUnit(ctx, SYSTEM_ACTOR, {
			input: { code: 'CYC-B', nameZh: '乙', nameEn: 'B', kind: 'region', parentId: top.value.id }
		});
		if (!child.ok) throw new Error(child.error.message);
		const r = await saveOrgUnit(ctx, SYSTEM_ACTOR, {
			id: top.value.id,
			input: { code: 'CYC-A', nameZh: '甲', nameEn: 'A', kind: 'region', parentId: child.value.id }
		});
		expect(r.ok).toBe(false);
		if (!r.ok && 'errors' in r.error) expect(r.error.errors.map((e) => e.code)).toContain('cycle');
	});

	it('validates business services and stores their regions', async () => {
		const bad = await saveService(ctx, SYSTEM_ACTOR, { input: { code: 'x', nameZh: '', nameEn: 'Y', criticality: 'extreme' } });
		expect(bad.ok).toBe(false);
		const good = await saveService(ctx, SYSTEM_ACTOR, {
			input: { code: 'SWIFT', nameZh: 'SWIFT 报文', nameEn: 'SWIFT messaging', criticality: 'critical', regions: 'East, South' }
		});
		expect(good.ok && good.value.regions).toEqual(['East', 'South']);
	});

	it('records every change in a hash chain that verifies', async () => {
		const u = await makeUser(ctx);
		await updateUser(ctx, SYSTEM_ACTOR, { userId: u.id, input: { displayName: '新名字 New name' } });
		const v = await verifyChain(ctx.db);
		expect(v.ok).toBe(true);
		expect(v.events).toBeGreaterThan(5);
	});

	it('refuses to update or delete audit events in the database itself', async () => {
		await expect(sql`update audit_events set action = 'x'`.execute(ctx.db)).rejects.toThrow(/append-only/);
		await expect(sql`delete from audit_events`.execute(ctx.db)).rejects.toThrow(/append-only/);
	});

	it('finds the first broken link when an event is altered behind its back', async () => {
		const before = await verifyChain(ctx.db);
		expect(before.ok).toBe(true);
		// Simulate tampering by someone with superuser access who disables the trigger.
		await sql`alter table audit_events disable trigger audit_events_no_change`.execute(ctx.db);
		const target = await sql<{ seq: string }>`select seq from audit_events order by seq limit 1 offset 3`.execute(ctx.db);
		const seq = target.rows[0]!.seq;
		await sql`update audit_events set after = '{"tampered":true}'::jsonb where seq = ${seq}`.execute(ctx.db);
		await sql`alter table audit_events enable trigger audit_events_no_change`.execute(ctx.db);
		const after = await verifyChain(ctx.db);
		expect(after.ok).toBe(false);
		if (!after.ok) {
			expect(after.brokenAt.seq).toBe(String(seq));
			expect(after.brokenAt.reason).toMatch(/altered/);
		}
	});
});
