/**
 * Pure helpers for the executive status board (issue 7): the countdown to the next update and the
 * weekly MTTA/MTTR trend.
 * Isomorphic: the page runs `updateCountdown` every second in the browser with the same rules the
 * server used to render it.
 */
import { incidentDurations, type IncidentTimes } from './metrics';

export const WEEK_MS = 7 * 24 * 60 * 60_000;

/** History windows the board offers, in days. 30 is the default. */
export const HISTORY_WINDOWS = [30, 90] as const;
export type HistoryWindow = (typeof HISTORY_WINDOWS)[number];

export function parseHistoryWindow(value: unknown): HistoryWindow {
	const n = typeof value === 'string' ? Number(value) : value;
	return (HISTORY_WINDOWS as readonly unknown[]).includes(n) ? (n as HistoryWindow) : 30;
}

export type CountdownState = 'none' | 'ok' | 'warning' | 'overdue';

/**
 * Where the "next update due" countdown stands at `now`: `overdue` once past due (the board turns it
 * red), `warning` within `warningLeadMs` of it, else `ok`; `none` when no update is owed (P4/P5, or
 * not yet declared). `msLeft` is negative when overdue.
 */
export function updateCountdown(options: { dueAt: Date | string | null; now: Date | number; warningLeadMs: number }): {
	state: CountdownState;
	msLeft: number | null;
} {
	if (options.dueAt === null) return { state: 'none', msLeft: null };
	const due = new Date(options.dueAt).getTime();
	if (Number.isNaN(due)) return { state: 'none', msLeft: null };
	const now = typeof options.now === 'number' ? options.now : options.now.getTime();
	const msLeft = due - now;
	if (msLeft < 0) return { state: 'overdue', msLeft };
	return { state: msLeft <= options.warningLeadMs ? 'warning' : 'ok', msLeft };
}

export interface TrendPoint {
	/** Start of the 7-day bucket (inclusive). */
	from: Date;
	/** End of the bucket (exclusive); the last one ends at `now`. */
	to: Date;
	/** Incidents that started in the bucket. */
	count: number;
	mttaMs: number | null;
	mttrMs: number | null;
}

export interface TrendIncident extends IncidentTimes {
	drill: boolean;
}

/**
 * MTTA and MTTR per week over `[since, now)`, counted back from `now` in whole 7-day buckets (the
 * first bucket may be shorter), so the buckets do not depend on a time zone or where a week starts.
 * An incident belongs to the week its response started (detection, else declaration) — the same
 * start `incidentDurations` measures from — and counts for MTTR only once resolved. Drills are left
 * out: they are summarised apart and never enter service metrics.
 */
export function weeklyTrend(options: { incidents: readonly TrendIncident[]; since: Date; now: Date }): TrendPoint[] {
	const end = options.now.getTime();
	const start = options.since.getTime();
	if (!(end > start)) return [];
	const buckets = Math.ceil((end - start) / WEEK_MS);
	const points = Array.from({ length: buckets }, (_, i) => {
		const to = end - (buckets - 1 - i) * WEEK_MS;
		return { from: Math.max(start, to - WEEK_MS), to, acks: [] as number[], resolves: [] as number[], count: 0 };
	});
	for (const incident of options.incidents) {
		if (incident.drill) continue;
		const began = (incident.detectedAt ?? incident.declaredAt)?.getTime();
		if (began === undefined || began < start || began >= end) continue;
		const index = buckets - 1 - Math.floor((end - 1 - began) / WEEK_MS);
		const point = points[Math.max(0, index)];
		if (!point) continue;
		point.count += 1;
		const d = incidentDurations(incident);
		if (d.timeToAcknowledgeMs !== null) point.acks.push(d.timeToAcknowledgeMs);
		if (d.timeToResolveMs !== null) point.resolves.push(d.timeToResolveMs);
	}
	const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
	return points.map((p) => ({ from: new Date(p.from), to: new Date(p.to), count: p.count, mttaMs: avg(p.acks), mttrMs: avg(p.resolves) }));
}

export interface BilingualLine {
	'zh-CN': string;
	en: string;
}
