/**
 * Demo incidents (WARROOM_DEMO=1, empty database only; runs after demo.ts created the accounts and
 * the catalogue): a living war room for a newcomer — an active P1 on core banking with its response
 * group (one technical lead acknowledged, one not yet), a proposal waiting for a manager, and a
 * resolved incident from two days ago. Everything goes through the real services, so the audit log,
 * the timeline and the notifications look exactly as they would in production.
 */
import type { Actor, AppContext } from './context';
import * as usersRepo from './repositories/users.repository';
import { changeStatus, declareIncident, proposeIncident } from './services/incident.service';
import { acknowledgePage, addMember } from './services/membership.service';
import { actorFromUser } from './services/users.service';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

function must<T>(what: string, r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
	if (!r.ok) throw new Error(`demo incidents: ${what} failed: ${r.error.message}`);
	return r.value;
}

export async function seedDemoIncidents(ctx: AppContext): Promise<void> {
	const now = ctx.now();
	// The services read the clock from the context: a copy per moment lets the story have a past.
	const at = (msAgo: number): AppContext => ({ ...ctx, now: () => new Date(now.getTime() - msAgo) });
	const actor = async (username: string): Promise<Actor> => {
		const u = await usersRepo.findByUsername(ctx.db, username);
		if (!u) throw new Error(`demo incidents: the demo account ${username} is missing`);
		return actorFromUser(u);
	};
	const [manager, manager2, responder, responder2, exec] = await Promise.all(
		['manager', 'manager2', 'responder', 'responder2', 'exec'].map(actor)
	);

	// 1. Active P1: core banking degraded, declared by the manager from a monitoring alert.
	const p1 = must(
		'declare the P1',
		await declareIncident(at(38 * MINUTE_MS), manager!, {
			title: '核心银行系统响应缓慢（Core banking degraded）',
			description:
				'核心银行联机交易平均响应时间由 0.3 秒升至 8 秒，柜面和网银转账超时。数据库主库 CPU 持续 95% 以上。\n' +
				'Online core-banking transactions take 8 s instead of 0.3 s; counter and internet-banking transfers time out. The primary database CPU stays above 95 %.',
			impact: 'extensive',
			urgency: 'high',
			services: ['CORE-BANKING', 'INTERNET-BANKING', 'MOBILE-BANKING'],
			detectedAt: new Date(now.getTime() - 42 * MINUTE_MS),
			source: 'monitoring',
			dedupeKey: 'demo:zabbix:core-db:cpu'
		})
	).incident;
	must(
		'add the first technical lead',
		await addMember(at(36 * MINUTE_MS), manager!, { incidentId: p1.id, userId: responder!.userId, role: 'technical_lead' })
	);
	must(
		'add the second technical lead',
		await addMember(at(36 * MINUTE_MS), manager!, { incidentId: p1.id, userId: responder2!.userId, role: 'technical_lead' })
	);
	must('add the executive', await addMember(at(35 * MINUTE_MS), manager!, { incidentId: p1.id, userId: exec!.userId, role: 'observer' }));
	must('acknowledge', await acknowledgePage(at(33 * MINUTE_MS), responder!, { incidentId: p1.id }));
	must('identify the cause', await changeStatus(at(20 * MINUTE_MS), manager!, { incidentId: p1.id, to: 'identified' }));

	// 2. A proposal from the desk, waiting for a manager to accept or reject it.
	must(
		'propose',
		await proposeIncident(at(10 * MINUTE_MS), responder2!, {
			title: '支付系统部分交易超时（Payments: some transactions time out）',
			description:
				'华南区域多家网点反馈跨行支付偶发超时，约 5% 交易失败。\nSeveral South-region branches report intermittent time-outs on interbank payments; about 5 % fail.',
			impact: 'significant',
			urgency: 'high',
			services: ['PAYMENTS'],
			detectedAt: new Date(now.getTime() - 15 * MINUTE_MS),
			source: 'phone'
		})
	);

	// 3. Resolved two days ago: internet-banking logins failed after a certificate expired.
	const old = must(
		'declare the resolved one',
		await declareIncident(at(2 * DAY_MS), manager2!, {
			title: '网上银行登录失败（Internet banking logins fail）',
			description:
				'网银登录网关证书过期，所有用户无法登录。\nThe internet-banking login gateway certificate expired; nobody could sign in.',
			impact: 'significant',
			urgency: 'high',
			services: ['INTERNET-BANKING'],
			detectedAt: new Date(now.getTime() - 2 * DAY_MS - 6 * MINUTE_MS),
			source: 'monitoring'
		})
	).incident;
	must(
		'add the lead',
		await addMember(at(2 * DAY_MS - 2 * MINUTE_MS), manager2!, { incidentId: old.id, userId: responder!.userId, role: 'technical_lead' })
	);
	must('acknowledge', await acknowledgePage(at(2 * DAY_MS - 5 * MINUTE_MS), responder!, { incidentId: old.id }));
	must('identify', await changeStatus(at(2 * DAY_MS - 25 * MINUTE_MS), manager2!, { incidentId: old.id, to: 'identified' }));
	must('mitigate', await changeStatus(at(2 * DAY_MS - 40 * MINUTE_MS), manager2!, { incidentId: old.id, to: 'mitigated' }));
	must('resolve', await changeStatus(at(2 * DAY_MS - 70 * MINUTE_MS), manager2!, { incidentId: old.id, to: 'resolved' }));
}
