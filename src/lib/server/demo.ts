/**
 * Demo data (WARROOM_DEMO=1 on an empty database only): an organisation a newcomer recognises, and
 * the demo accounts with the documented password. Outside demo mode none of this exists.
 */
import type { AppContext } from './context';
import { SYSTEM_ACTOR } from './context';
import * as usersRepo from './repositories/users.repository';
import { saveOrgUnit, saveService } from './services/catalogue.service';
import { createUser } from './services/users.service';

export const DEMO_PASSWORD = 'demo-password';

export const DEMO_ACCOUNTS = [
	{ username: 'admin', displayName: '系统管理员 Admin', globalRole: 'admin', unit: 'HQ' },
	{ username: 'manager', displayName: '王经理 Wang Li', globalRole: 'manager', unit: 'EAST' },
	{ username: 'manager2', displayName: '陈经理 Chen Jing', globalRole: 'manager', unit: 'SOUTH' },
	{ username: 'responder', displayName: '李工 Li Qiang', globalRole: 'responder', unit: 'EAST-DB' },
	{ username: 'responder2', displayName: '赵工 Zhao Min', globalRole: 'responder', unit: 'EAST-NET' },
	{ username: 'exec', displayName: '刘总 Liu Wei', globalRole: 'viewer', unit: 'HQ' }
] as const;

const TEAMS = [
	['NET', '网络组', 'Network'],
	['HOST', '主机存储组', 'Host & storage'],
	['DB', '数据库组', 'Database'],
	['MW', '中间件组', 'Middleware'],
	['APP', '应用组', 'Applications'],
	['SD', '服务台', 'Service desk']
] as const;

const SERVICES = [
	['CORE-BANKING', '核心银行系统', 'Core banking', 'critical', ['East', 'South'], 'EAST-APP'],
	['PAYMENTS', '支付系统', 'Payments', 'critical', ['East', 'South'], 'EAST-APP'],
	['INTERNET-BANKING', '网上银行', 'Internet banking', 'critical', ['East', 'South'], 'EAST-APP'],
	['MOBILE-BANKING', '手机银行', 'Mobile banking', 'critical', ['East', 'South'], 'SOUTH-APP'],
	['CARD', '银行卡系统', 'Card system', 'high', ['East'], 'EAST-APP'],
	['ATM', 'ATM 渠道', 'ATM channel', 'high', ['South'], 'SOUTH-APP'],
	['BILLING', '计费系统', 'Billing', 'high', ['South'], 'SOUTH-APP'],
	['CRM', '客户关系管理', 'CRM', 'medium', ['East'], 'EAST-APP'],
	['DATA-WAREHOUSE', '数据仓库', 'Data warehouse', 'medium', ['East'], 'EAST-DB'],
	['EMAIL', '企业邮件', 'Corporate e-mail', 'low', ['East', 'South'], 'SOUTH-MW']
] as const;

function must<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
	if (!r.ok) throw new Error(`demo seed failed: ${r.error.message}`);
	return r.value;
}

/** Seeds only an empty database; returns whether it did. Extra seeding steps register here. */
export async function seedDemo(ctx: AppContext, extra: ((ctx: AppContext) => Promise<void>)[] = []): Promise<boolean> {
	if ((await usersRepo.count(ctx.db)) > 0) return false;
	const a = SYSTEM_ACTOR;
	const units = new Map<string, string>();
	const hq = must(
		await saveOrgUnit(ctx, a, { input: { code: 'HQ', nameZh: '集团总部', nameEn: 'Group head office', kind: 'head_office' } })
	);
	units.set('HQ', hq.id);
	for (const [code, zh, en, region] of [
		['EAST', '华东区域中心', 'East regional centre', 'East'],
		['SOUTH', '华南区域中心', 'South regional centre', 'South']
	] as const) {
		const r = must(await saveOrgUnit(ctx, a, { input: { code, nameZh: zh, nameEn: en, kind: 'region', parentId: hq.id, region } }));
		units.set(code, r.id);
		for (const [t, tzh, ten] of TEAMS) {
			const team = must(
				await saveOrgUnit(ctx, a, {
					input: {
						code: `${code}-${t}`,
						nameZh: `${zh.replace('区域中心', '')}${tzh}`,
						nameEn: `${en.replace(' regional centre', '')} ${ten}`,
						kind: 'team',
						parentId: r.id,
						region
					}
				})
			);
			units.set(`${code}-${t}`, team.id);
		}
	}
	for (const [code, zh, en, criticality, regions, owner] of SERVICES)
		must(
			await saveService(ctx, a, {
				input: { code, nameZh: zh, nameEn: en, criticality, regions: [...regions], ownerTeamId: units.get(owner) }
			})
		);
	let n = 0;
	for (const acc of DEMO_ACCOUNTS) {
		n++;
		must(
			await createUser(ctx, a, {
				username: acc.username,
				displayName: acc.displayName,
				globalRole: acc.globalRole,
				password: DEMO_PASSWORD,
				orgUnitId: units.get(acc.unit),
				email: `${acc.username}@demo.warroom.local`,
				phone: `+86 138 0000 ${String(n).padStart(4, '0')}`,
				locale: acc.username === 'admin' ? 'en' : 'zh-CN'
			})
		);
	}
	for (const step of extra) await step(ctx);
	return true;
}
