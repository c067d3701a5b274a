/**
 * The monthly service-quality report (服务质量报告): generated for the previous month by the job on
 * the 1st (and on demand), for the whole organisation and for each organisation unit — a unit's
 * incidents are those affecting services owned by a team inside it. Drills are listed apart and kept
 * out of every service figure (domain/metrics.ts). Stored once per (period, unit): a re-run replaces.
 */
import { CLOCK_KINDS, type ClockKind } from '../../domain/clocks';
import { incidentDurations, incidentMetrics, slaAttainment, type Attainment, type Mean } from '../../domain/metrics';
import { PRIORITIES, type Priority } from '../../domain/priority';
import { formatDuration, type Block } from '../../domain/review-document';
import {
	actionItemCounts,
	PERIOD_PATTERN,
	periodRange,
	previousPeriod,
	satisfaction,
	type SatisfactionSummary
} from '../../domain/review-metrics';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import { translate, type Locale } from '../../i18n';
import type { Actor, AppContext } from '../context';
import type { IncidentRow, OrgUnitRow } from '../db/schema';
import * as itemsRepo from '../repositories/action-items.repository';
import * as reportsRepo from '../repositories/monthly-reports.repository';
import * as orgUnitsRepo from '../repositories/org-units.repository';
import { evaluateIncident } from './clocks.service';
import { csvCell } from '../../collab/incident-doc';
import { renderBlocks, type ExportFile } from './review-export';

export interface ReportIncident {
	number: string;
	/** Null for restricted incidents: the report is read more widely than the incident. */
	title: string | null;
	priority: Priority;
	declaredAt: string;
	timeToResolveMs: number | null;
	services: string[];
}

export interface MonthlyReportData {
	period: string;
	orgUnit: { id: string; code: string; nameZh: string; nameEn: string } | null;
	range: { start: string; end: string };
	generatedAt: string;
	incidents: {
		count: number;
		byPriority: Record<Priority, number>;
		byService: { code: string; nameZh: string; nameEn: string; count: number }[];
		byCategory: { category: string; count: number }[];
		list: ReportIncident[];
	};
	mtta: Mean;
	mttm: Mean;
	mttr: Mean;
	attainment: Record<ClockKind, Attainment>;
	escalations: { incidents: number; reports: number; meanAckMs: number | null };
	drills: ReportIncident[];
	actionItems: { opened: number; closed: number; overdue: number };
	satisfaction: SatisfactionSummary & { comments: { incidentNumber: string; serviceCode: string; score: number; comment: string }[] };
}

const UNCATEGORISED = 'uncategorised';

function mayView(actor: Actor): boolean {
	return actor.kind === 'system' || ['admin', 'manager', 'viewer', 'system'].includes(actor.globalRole);
}
function mayGenerate(actor: Actor): boolean {
	return actor.kind === 'system' || ['admin', 'manager', 'system'].includes(actor.globalRole);
}
function forbidden(): DomainError {
	return { code: 'forbidden', message: 'Monthly reports are for managers, administrators and executives', params: { reason: 'role' } };
}

/** A period that is well-formed and not in the future (the current month may be generated so far). */
export function parsePeriod(value: unknown, now: Date, timeZone: string): Result<string> {
	if (typeof value !== 'string' || !PERIOD_PATTERN.test(value))
		return err({ code: 'invalid_value', message: 'period must look like 2026-10', field: 'period' });
	if (periodRange(value, timeZone).start > now)
		return err({ code: 'invalid_value', message: 'period must not be in the future', field: 'period' });
	return ok(value);
}

function subtree(units: readonly OrgUnitRow[], rootId: string): Set<string> {
	const out = new Set([rootId]);
	let grew = true;
	while (grew) {
		grew = false;
		for (const u of units) {
			if (u.parent_id && out.has(u.parent_id) && !out.has(u.id)) {
				out.add(u.id);
				grew = true;
			}
		}
	}
	return out;
}

/** Computes and stores the reports of `period`: the whole organisation and every unit. Idempotent. */
export async function generateMonthlyReports(
	ctx: AppContext,
	opts: { period: string; now: Date; generatedBy?: string | null }
): Promise<{ period: string; units: number }> {
	const tz = ctx.config.orgTimeZone;
	const range = periodRange(opts.period, tz);
	const [incidents, units] = await Promise.all([
		reportsRepo.declaredIncidents(ctx.db, { from: range.start, to: range.end }),
		orgUnitsRepo.list(ctx.db)
	]);
	const ids = incidents.map((i) => i.id);
	const [services, categories, reports, answered, sent, items] = await Promise.all([
		reportsRepo.incidentServices(ctx.db, ids),
		reportsRepo.incidentCategories(ctx.db, ids),
		reportsRepo.reportsSent(ctx.db, { from: range.start, to: range.end, incidentIds: ids }),
		reportsRepo.surveysAnswered(ctx.db, { from: range.start, to: range.end }),
		reportsRepo.surveysSent(ctx.db, { from: range.start, to: range.end }),
		itemsRepo.listForPeriod(ctx.db, { from: range.start, to: range.end })
	]);
	const itemIncidentServices = await reportsRepo.incidentServices(ctx.db, [...new Set(items.map((i) => i.incident_id))]);
	// Clocks are evaluated once per incident, at generation time (they are settled for a past month).
	const clocks = new Map<string, Awaited<ReturnType<typeof evaluateIncident>>>();
	for (const incident of incidents) clocks.set(incident.id, await evaluateIncident(ctx, incident, opts.now));

	const build = (unit: OrgUnitRow | null): MonthlyReportData => {
		const teams = unit ? subtree(units, unit.id) : null;
		const inUnit = (ownerTeamId: string | null) => teams === null || (ownerTeamId !== null && teams.has(ownerTeamId));
		const mine: IncidentRow[] =
			teams === null ? incidents : incidents.filter((i) => services.some((s) => s.incident_id === i.id && inUnit(s.owner_team_id)));
		const servicesOf = (id: string) => services.filter((s) => s.incident_id === id && inUnit(s.owner_team_id));
		const metricInput = mine.map((i) => ({
			id: i.id,
			priority: i.priority,
			drill: i.drill,
			serviceIds: servicesOf(i.id).map((s) => s.id),
			detectedAt: i.detected_at,
			declaredAt: i.declared_at,
			firstAckAt: i.first_acked_at,
			mitigatedAt: i.mitigated_at,
			resolvedAt: i.resolved_at
		}));
		const m = incidentMetrics(metricInput);
		const real = mine.filter((i) => !i.drill);
		const listItem = (i: IncidentRow): ReportIncident => ({
			number: i.number,
			title: i.restricted ? null : i.title,
			priority: i.priority,
			declaredAt: i.declared_at!.toISOString(),
			timeToResolveMs: incidentDurations({ detectedAt: i.detected_at, declaredAt: i.declared_at, resolvedAt: i.resolved_at })
				.timeToResolveMs,
			services: servicesOf(i.id).map((s) => s.code)
		});
		const byService = new Map<string, { code: string; nameZh: string; nameEn: string; count: number }>();
		for (const i of real)
			for (const s of servicesOf(i.id)) {
				const cur = byService.get(s.id) ?? { code: s.code, nameZh: s.name_zh, nameEn: s.name_en, count: 0 };
				cur.count++;
				byService.set(s.id, cur);
			}
		const byCategory = new Map<string, number>();
		for (const i of real) {
			const c = categories.find((x) => x.incident_id === i.id)?.category ?? UNCATEGORISED;
			byCategory.set(c, (byCategory.get(c) ?? 0) + 1);
		}
		const realIds = new Set(real.map((i) => i.id));
		const myReports = reports.filter((r) => realIds.has(r.incident_id) && r.sent_at && r.sent_at >= range.start && r.sent_at < range.end);
		const ackDelays = myReports
			.filter((r) => r.first_ack_at && r.sent_at)
			.map((r) => new Date(r.first_ack_at as unknown as string).getTime() - r.sent_at!.getTime());
		const myItems = items.filter(
			(it) => teams === null || itemIncidentServices.some((s) => s.incident_id === it.incident_id && inUnit(s.owner_team_id))
		);
		const myAnswers = answered.filter((a) => inUnit(a.owner_team_id));
		const sentCount = sent.filter((s) => inUnit(s.owner_team_id)).length;
		const sat = satisfaction(myAnswers);
		return {
			period: opts.period,
			orgUnit: unit ? { id: unit.id, code: unit.code, nameZh: unit.name_zh, nameEn: unit.name_en } : null,
			range: { start: range.start.toISOString(), end: range.end.toISOString() },
			generatedAt: opts.now.toISOString(),
			incidents: {
				count: m.service.count,
				byPriority: m.service.byPriority,
				byService: [...byService.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
				byCategory: [...byCategory.entries()]
					.map(([category, count]) => ({ category, count }))
					.sort((a, b) => b.count - a.count || a.category.localeCompare(b.category)),
				list: real.map(listItem)
			},
			mtta: m.service.mtta,
			mttm: m.service.mttm,
			mttr: m.service.mttr,
			attainment: slaAttainment(
				mine.flatMap((i) => (clocks.get(i.id)?.evaluation.clocks ?? []).map((c) => ({ kind: c.kind, state: c.state, drill: i.drill })))
			),
			escalations: {
				incidents: new Set(myReports.map((r) => r.incident_id)).size,
				reports: myReports.length,
				meanAckMs: ackDelays.length ? ackDelays.reduce((a, b) => a + b, 0) / ackDelays.length : null
			},
			drills: mine.filter((i) => i.drill).map(listItem),
			actionItems: actionItemCounts(
				myItems.map((i) => ({ createdAt: i.created_at, closedAt: i.closed_at, dueDate: i.due_date })),
				range
			),
			satisfaction: {
				...sat,
				sent: Math.max(sentCount, sat.answered),
				comments: myAnswers
					.filter((a) => a.comment)
					.map((a) => ({ incidentNumber: a.incident_number, serviceCode: a.service_code, score: a.score!, comment: a.comment! }))
			}
		};
	};

	const all: (OrgUnitRow | null)[] = [null, ...units];
	for (const unit of all) {
		await reportsRepo.upsert(ctx.db, {
			id: crypto.randomUUID(),
			period: opts.period,
			org_unit_id: unit?.id ?? null,
			data: JSON.stringify(build(unit)),
			generated_at: opts.now,
			generated_by: opts.generatedBy ?? null
		});
	}
	return { period: opts.period, units: units.length };
}

/** On demand, from the reports page (managers and admins). */
export async function generateOnDemand(
	ctx: AppContext,
	actor: Actor,
	opts: { period: unknown }
): Promise<Result<{ period: string; units: number }>> {
	if (!mayGenerate(actor)) return err(forbidden());
	const now = ctx.now();
	const period = parsePeriod(opts.period, now, ctx.config.orgTimeZone);
	if (!period.ok) return period;
	return ok(await generateMonthlyReports(ctx, { period: period.value, now, generatedBy: actor.userId }));
}

/**
 * The job's part: the previous month's reports, if they do not exist yet. Runs hourly, so a process
 * that was down on the 1st catches up on its first tick.
 */
export async function generateDueMonthlyReports(ctx: AppContext, now: Date): Promise<string | null> {
	const period = previousPeriod(now, ctx.config.orgTimeZone);
	if (await reportsRepo.find(ctx.db, { period, orgUnitId: null })) return null;
	await generateMonthlyReports(ctx, { period, now });
	return period;
}

export async function listReportPeriods(
	ctx: AppContext,
	actor: Actor
): Promise<Result<{ period: string; generatedAt: Date; units: number }[]>> {
	if (!mayView(actor)) return err(forbidden());
	const rows = await reportsRepo.listPeriods(ctx.db);
	return ok(rows.map((r) => ({ period: r.period, generatedAt: new Date(r.generated_at), units: Number(r.units) })));
}

export async function getMonthlyReport(
	ctx: AppContext,
	actor: Actor,
	opts: { period: unknown; orgUnitId?: unknown }
): Promise<
	Result<{ data: MonthlyReportData; units: { id: string | null; code: string | null; nameZh: string | null; nameEn: string | null }[] }>
> {
	if (!mayView(actor)) return err(forbidden());
	const period = parsePeriod(opts.period, ctx.now(), ctx.config.orgTimeZone);
	if (!period.ok) return period;
	const orgUnitId = typeof opts.orgUnitId === 'string' && opts.orgUnitId ? opts.orgUnitId : null;
	const row = await reportsRepo.find(ctx.db, { period: period.value, orgUnitId });
	if (!row) return err({ code: 'not_found', message: `No report for ${period.value}${orgUnitId ? ' and this unit' : ''} yet` });
	const units = await reportsRepo.listUnitsOfPeriod(ctx.db, period.value);
	return ok({
		data: row.data as MonthlyReportData,
		units: units.map((u) => ({ id: u.org_unit_id, code: u.code, nameZh: u.name_zh, nameEn: u.name_en }))
	});
}

function meanText(m: Mean, locale: Locale): string {
	return m.meanMs === null ? '—' : translate(locale, 'report.monthly.samples', { value: formatDuration(m.meanMs), samples: m.samples });
}

function unitName(data: MonthlyReportData, locale: Locale): string {
	return data.orgUnit ? (locale === 'zh-CN' ? data.orgUnit.nameZh : data.orgUnit.nameEn) : translate(locale, 'report.monthly.wholeOrg');
}

export function reportBlocks(data: MonthlyReportData, locale: Locale): Block[] {
	const t = (k: string, p?: Record<string, string | number>) => translate(locale, k, p);
	const pct = (a: Attainment) => (a.percentage === null ? '—' : `${a.percentage.toFixed(1)}%`);
	const incidentRows = (list: ReportIncident[]) =>
		list.map((i) => [
			`${i.number}${i.title ? ` ${i.title}` : ''}`,
			i.priority,
			i.declaredAt.slice(0, 10),
			formatDuration(i.timeToResolveMs)
		]);
	const head = [
		t('report.monthly.col.incident'),
		t('report.monthly.col.priority'),
		t('report.monthly.col.declared'),
		t('report.monthly.col.resolveTime')
	];
	const s = data.satisfaction;
	return [
		{ kind: 'title', text: t('report.monthly.docTitle', { period: data.period, unit: unitName(data, locale) }) },
		{ kind: 'heading', text: t('report.monthly.incidents') },
		{ kind: 'paragraph', text: t('report.monthly.count', { count: data.incidents.count }) },
		{
			kind: 'fields',
			pairs: [
				[t('report.monthly.mtta'), meanText(data.mtta, locale)],
				[t('report.monthly.mttm'), meanText(data.mttm, locale)],
				[t('report.monthly.mttr'), meanText(data.mttr, locale)]
			]
		},
		{ kind: 'heading', text: t('report.monthly.byPriority') },
		{
			kind: 'table',
			head: [t('report.monthly.col.priority'), t('report.monthly.col.count')],
			rows: PRIORITIES.map((p) => [p, String(data.incidents.byPriority[p])])
		},
		{ kind: 'heading', text: t('report.monthly.byService') },
		{
			kind: 'table',
			head: [t('report.monthly.col.name'), t('report.monthly.col.count')],
			rows: data.incidents.byService.map((x) => [`${locale === 'zh-CN' ? x.nameZh : x.nameEn} (${x.code})`, String(x.count)])
		},
		{ kind: 'heading', text: t('report.monthly.byCategory') },
		{
			kind: 'table',
			head: [t('report.monthly.col.name'), t('report.monthly.col.count')],
			rows: data.incidents.byCategory.map((x) => [categoryLabel(x.category, locale), String(x.count)])
		},
		{ kind: 'table', head, rows: incidentRows(data.incidents.list) },
		{ kind: 'heading', text: t('report.monthly.attainment') },
		{
			kind: 'table',
			head: [
				t('report.monthly.col.clock'),
				t('report.monthly.col.met'),
				t('report.monthly.col.breached'),
				t('report.monthly.col.pending'),
				t('report.monthly.col.percentage')
			],
			rows: CLOCK_KINDS.map((k) => [
				t(`report.monthly.clock.${k}`),
				String(data.attainment[k].met),
				String(data.attainment[k].breached),
				String(data.attainment[k].pending),
				pct(data.attainment[k])
			])
		},
		{ kind: 'heading', text: t('report.monthly.escalations') },
		{
			kind: 'paragraph',
			text: t('report.monthly.escalationSummary', {
				incidents: data.escalations.incidents,
				reports: data.escalations.reports,
				ack: formatDuration(data.escalations.meanAckMs)
			})
		},
		{ kind: 'heading', text: t('report.monthly.actions') },
		{ kind: 'paragraph', text: t('report.monthly.actionSummary', data.actionItems) },
		{ kind: 'heading', text: t('report.monthly.satisfaction') },
		{
			kind: 'paragraph',
			text: t('report.monthly.satisfactionSummary', {
				answered: s.answered,
				sent: s.sent,
				mean: s.meanScore === null ? '—' : s.meanScore.toFixed(1)
			})
		},
		{ kind: 'list', items: s.comments.map((c) => `${c.incidentNumber} · ${c.serviceCode}: ${c.score}/5 — ${c.comment}`) },
		{ kind: 'heading', text: t('report.monthly.drills') },
		data.drills.length
			? { kind: 'table', head, rows: incidentRows(data.drills) }
			: { kind: 'paragraph', text: t('report.monthly.noDrills') }
	];
}

function categoryLabel(category: string, locale: Locale): string {
	if (category === UNCATEGORISED) return translate(locale, 'report.monthly.uncategorised');
	const key = `category.${category}`;
	const label = translate(locale, key);
	return label === key ? category : label;
}

/** One figure per line (section, item, value), CSV-injection safe: spreadsheets never run a cell. */
export function reportCsv(data: MonthlyReportData, locale: Locale): string {
	const t = (k: string) => translate(locale, k);
	const rows: string[][] = [['period', 'unit', 'section', 'item', 'value']];
	const unit = unitName(data, locale);
	const add = (section: string, item: string, value: string | number | null) =>
		rows.push([data.period, unit, section, item, value === null ? '' : String(value)]);
	add('incidents', 'count', data.incidents.count);
	for (const p of PRIORITIES) add('by_priority', p, data.incidents.byPriority[p]);
	for (const x of data.incidents.byService) add('by_service', x.code, x.count);
	for (const x of data.incidents.byCategory) add('by_category', categoryLabel(x.category, locale), x.count);
	add('mtta_minutes', t('report.monthly.mtta'), data.mtta.meanMs === null ? null : (data.mtta.meanMs / 60_000).toFixed(1));
	add('mttm_minutes', t('report.monthly.mttm'), data.mttm.meanMs === null ? null : (data.mttm.meanMs / 60_000).toFixed(1));
	add('mttr_minutes', t('report.monthly.mttr'), data.mttr.meanMs === null ? null : (data.mttr.meanMs / 60_000).toFixed(1));
	for (const k of CLOCK_KINDS)
		add('attainment_percent', k, data.attainment[k].percentage === null ? null : data.attainment[k].percentage!.toFixed(1));
	add('escalations', 'incidents', data.escalations.incidents);
	add('escalations', 'reports', data.escalations.reports);
	add('action_items', 'opened', data.actionItems.opened);
	add('action_items', 'closed', data.actionItems.closed);
	add('action_items', 'overdue', data.actionItems.overdue);
	add('satisfaction', 'sent', data.satisfaction.sent);
	add('satisfaction', 'answered', data.satisfaction.answered);
	add('satisfaction', 'mean_score', data.satisfaction.meanScore === null ? null : data.satisfaction.meanScore.toFixed(2));
	for (const c of data.satisfaction.comments) add('satisfaction_comment', `${c.incidentNumber} ${c.serviceCode} ${c.score}`, c.comment);
	for (const d of data.drills) add('drill', d.number, d.title ?? '');
	return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export async function exportMonthlyReport(
	ctx: AppContext,
	actor: Actor,
	opts: { period: unknown; orgUnitId?: unknown; format: unknown; locale: Locale }
): Promise<Result<ExportFile>> {
	if (!['csv', 'md', 'pdf'].includes(String(opts.format)))
		return err({ code: 'invalid_value', message: 'format must be one of csv, md, pdf', field: 'format' });
	const r = await getMonthlyReport(ctx, actor, opts);
	if (!r.ok) return r;
	const data = r.value.data;
	const base = `service-quality-${data.period}-${data.orgUnit?.code ?? 'all'}`;
	if (opts.format === 'csv')
		return ok({
			filename: `${base}.csv`.replace(/[^A-Za-z0-9._-]+/g, '-'),
			contentType: 'text/csv; charset=utf-8',
			body: '\uFEFF' + reportCsv(data, opts.locale)
		});
	return ok(
		await renderBlocks(reportBlocks(data, opts.locale), {
			format: opts.format as 'md' | 'pdf',
			title: translate(opts.locale, 'report.monthly.docTitle', { period: data.period, unit: unitName(data, opts.locale) }),
			filenameBase: base
		})
	);
}
