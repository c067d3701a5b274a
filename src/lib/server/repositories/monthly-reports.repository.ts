/** SQL for the monthly service-quality report: the stored reports and the period's raw facts. */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, MonthlyReportRow } from '../db/schema';

type Q = Kysely<Database> | Transaction<Database>;

/**
 * Inserts or replaces the report of (period, unit): the unique index folds a NULL unit (whole
 * organisation) to '', so a re-run replaces instead of adding a second copy.
 */
export async function upsert(db: Q, row: Omit<MonthlyReportRow, 'data'> & { data: string }): Promise<void> {
	await db
		.insertInto('monthly_reports')
		.values(row)
		.onConflict((oc) =>
			oc.expression(sql`period, (coalesce(org_unit_id, ''))`).doUpdateSet((eb) => ({
				data: eb.ref('excluded.data'),
				generated_at: eb.ref('excluded.generated_at'),
				generated_by: eb.ref('excluded.generated_by')
			}))
		)
		.execute();
}

export function find(db: Q, opts: { period: string; orgUnitId: string | null }): Promise<MonthlyReportRow | undefined> {
	let q = db.selectFrom('monthly_reports').selectAll().where('period', '=', opts.period);
	q = opts.orgUnitId === null ? q.where('org_unit_id', 'is', null) : q.where('org_unit_id', '=', opts.orgUnitId);
	return q.executeTakeFirst();
}

export function listPeriods(db: Q) {
	return db
		.selectFrom('monthly_reports')
		.select(['period', sql<string>`max(generated_at)`.as('generated_at'), sql<number>`count(*)::int`.as('units')])
		.groupBy('period')
		.orderBy('period', 'desc')
		.execute();
}

export function listUnitsOfPeriod(db: Q, period: string) {
	return db
		.selectFrom('monthly_reports as r')
		.leftJoin('org_units as o', 'o.id', 'r.org_unit_id')
		.select(['r.org_unit_id', 'o.code', 'o.name_zh', 'o.name_en', 'r.generated_at'])
		.where('r.period', '=', period)
		.orderBy(sql`o.code nulls first`)
		.execute();
}

/** Declared incidents whose declaration falls in [from, to), with their services' owner teams. */
export function declaredIncidents(db: Q, opts: { from: Date; to: Date }) {
	return db
		.selectFrom('incidents')
		.selectAll()
		.where('declared_at', '>=', opts.from)
		.where('declared_at', '<', opts.to)
		.orderBy('declared_at')
		.execute();
}

export function incidentServices(db: Q, incidentIds: readonly string[]) {
	if (incidentIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('incident_services as is')
		.innerJoin('services as s', 's.id', 'is.service_id')
		.select(['is.incident_id', 's.id', 's.code', 's.name_zh', 's.name_en', 's.owner_team_id'])
		.where('is.incident_id', 'in', [...incidentIds])
		.execute();
}

/** The category of the first playbook loaded into each incident (incidents are categorised by plan). */
export function incidentCategories(db: Q, incidentIds: readonly string[]) {
	if (incidentIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('incident_playbooks as ip')
		.innerJoin('playbooks as p', 'p.id', 'ip.playbook_id')
		.select(['ip.incident_id', 'p.category', 'ip.loaded_at'])
		.where('ip.incident_id', 'in', [...incidentIds])
		.orderBy('ip.loaded_at')
		.execute();
}

/** Head-office reports sent in [from, to) for these incidents, with their first acknowledgement. */
export function reportsSent(db: Q, opts: { from: Date; to: Date; incidentIds: readonly string[] }) {
	if (opts.incidentIds.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('communications as c')
		.select([
			'c.id',
			'c.incident_id',
			'c.report_kind',
			'c.sent_at',
			(eb) =>
				eb
					.selectFrom('head_office_acks as a')
					.select((e) => e.fn.min('a.acked_at').as('m'))
					.whereRef('a.communication_id', '=', 'c.id')
					.as('first_ack_at')
		])
		.where('c.kind', '=', 'head_office_report')
		.where('c.state', '=', 'sent')
		.where('c.incident_id', 'in', [...opts.incidentIds])
		.execute();
}

export function surveysAnswered(db: Q, opts: { from: Date; to: Date }) {
	return db
		.selectFrom('surveys as s')
		.innerJoin('services as sv', 'sv.id', 's.service_id')
		.innerJoin('incidents as i', 'i.id', 's.incident_id')
		.select([
			's.incident_id',
			's.score',
			's.comment',
			's.used_at',
			'sv.code as service_code',
			'sv.owner_team_id',
			'i.number as incident_number'
		])
		.where('s.used_at', '>=', opts.from)
		.where('s.used_at', '<', opts.to)
		.orderBy('s.used_at')
		.execute();
}

export function surveysSent(db: Q, opts: { from: Date; to: Date }) {
	return db
		.selectFrom('surveys as s')
		.innerJoin('services as sv', 'sv.id', 's.service_id')
		.select(['s.id', 'sv.owner_team_id'])
		.where('s.created_at', '>=', opts.from)
		.where('s.created_at', '<', opts.to)
		.execute();
}
