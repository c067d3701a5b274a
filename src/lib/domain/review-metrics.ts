/**
 * Pure figures for the post-incident review and the monthly service-quality report (issue 8):
 * the response stages against their service-level targets, satisfaction results, action-item
 * counts, and the calendar month of a period in the organisation's time zone.
 *
 * The stage targets are the house defaults drawn from the contracts the users work to (DOMAIN.md,
 * "Service levels"): acknowledge within minutes, restore within hours, tighter for higher priority.
 * A stage that cannot be measured (its end is missing) is `unmeasured`, never met.
 */
import { incidentDurations, type IncidentTimes } from './metrics';
import type { Priority } from './priority';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** Start (detection) → first acknowledgement, per priority. */
export const ACK_TARGET_MS: Readonly<Record<Priority, number>> = {
	P1: 15 * MINUTE_MS,
	P2: 30 * MINUTE_MS,
	P3: HOUR_MS,
	P4: 4 * HOUR_MS,
	P5: 8 * HOUR_MS
};
/** Start → mitigated (service restored by a workaround), per priority. */
export const MITIGATE_TARGET_MS: Readonly<Record<Priority, number>> = {
	P1: HOUR_MS,
	P2: 2 * HOUR_MS,
	P3: 4 * HOUR_MS,
	P4: 24 * HOUR_MS,
	P5: 72 * HOUR_MS
};
/** Start → resolved, per priority ("arrive in 3 hours, resolve in 5" is the P2 contract). */
export const RESOLVE_TARGET_MS: Readonly<Record<Priority, number>> = {
	P1: 4 * HOUR_MS,
	P2: 5 * HOUR_MS,
	P3: 24 * HOUR_MS,
	P4: 72 * HOUR_MS,
	P5: 120 * HOUR_MS
};

export type StageKey =
	| 'detect_to_declare'
	| 'declare_to_ack'
	| 'ack_to_mitigate'
	| 'mitigate_to_resolve'
	| 'time_to_acknowledge'
	| 'time_to_mitigate'
	| 'time_to_resolve';
export type StageVerdict = 'met' | 'breached' | 'unmeasured' | 'no_target';

export interface Stage {
	key: StageKey;
	ms: number | null;
	targetMs: number | null;
	verdict: StageVerdict;
}

function verdict(ms: number | null, targetMs: number | null): StageVerdict {
	if (targetMs === null) return 'no_target';
	if (ms === null) return 'unmeasured';
	return ms <= targetMs ? 'met' : 'breached';
}

/**
 * The review's "key times and the durations between them against the SLA": each stage between key
 * times (no target of its own), then the three totals from the start with their targets.
 */
export function responseStages(times: IncidentTimes, priority: Priority): Stage[] {
	const d = incidentDurations(times);
	const stage = (key: StageKey, ms: number | null, targetMs: number | null): Stage => ({
		key,
		ms,
		targetMs,
		verdict: verdict(ms, targetMs)
	});
	return [
		stage('detect_to_declare', d.detectToDeclareMs, null),
		stage('declare_to_ack', d.declareToAckMs, null),
		stage('ack_to_mitigate', d.ackToMitigateMs, null),
		stage('mitigate_to_resolve', d.mitigateToResolveMs, null),
		stage('time_to_acknowledge', d.timeToAcknowledgeMs, ACK_TARGET_MS[priority]),
		stage('time_to_mitigate', d.timeToMitigateMs, MITIGATE_TARGET_MS[priority]),
		stage('time_to_resolve', d.timeToResolveMs, RESOLVE_TARGET_MS[priority])
	];
}

export interface SatisfactionSummary {
	sent: number;
	answered: number;
	/** Mean score 1–5 over answered surveys, or null when none answered. */
	meanScore: number | null;
	/** Count per score; index 0 = score 1. */
	distribution: [number, number, number, number, number];
}

export function satisfaction(surveys: readonly { score: number | null }[]): SatisfactionSummary {
	const distribution: [number, number, number, number, number] = [0, 0, 0, 0, 0];
	let sum = 0;
	let answered = 0;
	for (const s of surveys) {
		if (s.score === null || !Number.isInteger(s.score) || s.score < 1 || s.score > 5) continue;
		distribution[s.score - 1]! += 1;
		sum += s.score;
		answered++;
	}
	return { sent: surveys.length, answered, meanScore: answered ? sum / answered : null, distribution };
}

export type ActionItemStatus = 'open' | 'in_progress' | 'done' | 'cancelled';

export function isOpenItem(status: ActionItemStatus): boolean {
	return status === 'open' || status === 'in_progress';
}

/** Overdue on `today` (YYYY-MM-DD, organisation time zone): still open and due before today. */
export function isOverdue(item: { status: ActionItemStatus; dueDate: string | null }, today: string): boolean {
	return isOpenItem(item.status) && item.dueDate !== null && item.dueDate < today;
}

/**
 * Action items of a period: opened in it, closed (done or cancelled) in it, and overdue at its end
 * (open at the end, or closed after it, with a due date before the end).
 */
export function actionItemCounts(
	items: readonly { createdAt: Date; closedAt: Date | null; dueDate: string | null }[],
	period: { start: Date; end: Date; lastDay: string }
): { opened: number; closed: number; overdue: number } {
	let opened = 0;
	let closed = 0;
	let overdue = 0;
	for (const i of items) {
		if (i.createdAt >= period.start && i.createdAt < period.end) opened++;
		if (i.closedAt && i.closedAt >= period.start && i.closedAt < period.end) closed++;
		const openAtEnd = i.createdAt < period.end && (!i.closedAt || i.closedAt >= period.end);
		// The period ends at the midnight after its last day, so a due date up to and including that day has passed.
		if (openAtEnd && i.dueDate !== null && i.dueDate <= period.lastDay) overdue++;
	}
	return { opened, closed, overdue };
}

export const PERIOD_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function dayIn(at: Date, timeZone: string): string {
	return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** The offset of `timeZone` from UTC at `at`, in ms (positive east of Greenwich). */
function offsetMs(at: Date, timeZone: string): number {
	const parts = new Intl.DateTimeFormat('en-US', {
		timeZone,
		hourCycle: 'h23',
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		second: '2-digit'
	}).formatToParts(at);
	const n = (t: string) => Number(parts.find((p) => p.type === t)?.value);
	const asUtc = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
	return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/** Local midnight of a calendar date in `timeZone`, as an instant. */
function midnight(year: number, month: number, timeZone: string): Date {
	const guess = Date.UTC(year, month - 1, 1);
	// Two passes settle the offset even when it differs between the guess and the answer (DST).
	let t = guess - offsetMs(new Date(guess), timeZone);
	t = guess - offsetMs(new Date(t), timeZone);
	return new Date(t);
}

/** The instants a month covers in `timeZone`: [start, end), and its last calendar day. */
export function periodRange(period: string, timeZone: string): { start: Date; end: Date; lastDay: string } {
	const m = PERIOD_PATTERN.exec(period);
	if (!m) throw new RangeError(`period must be YYYY-MM (got "${period}")`);
	const year = Number(m[1]);
	const month = Number(m[2]);
	const start = midnight(year, month, timeZone);
	const end = month === 12 ? midnight(year + 1, 1, timeZone) : midnight(year, month + 1, timeZone);
	const lastDay = `${m[1]}-${m[2]}-${String(new Date(Date.UTC(year, month, 0)).getUTCDate()).padStart(2, '0')}`;
	return { start, end, lastDay };
}

/** The month before the one containing `now` in `timeZone` (what the job on the 1st reports). */
export function previousPeriod(now: Date, timeZone: string): string {
	const [y, mo] = dayIn(now, timeZone).split('-').map(Number) as [number, number];
	return mo === 1 ? `${y - 1}-12` : `${y}-${String(mo - 1).padStart(2, '0')}`;
}
