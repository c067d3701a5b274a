/**
 * The incident state machine and the incident number.
 *
 * | from          | to                                    | kind                 |
 * | ------------- | ------------------------------------- | -------------------- |
 * | (new)         | proposed / investigating              | propose / declare    |
 * | proposed      | investigating                         | accept               |
 * | proposed      | rejected (reason)                     | reject               |
 * | investigating | identified, mitigated                 | advance              |
 * | investigating | resolved                              | resolve              |
 * | identified    | mitigated                             | advance              |
 * | identified    | resolved                              | resolve              |
 * | mitigated     | resolved                              | resolve              |
 * | resolved      | closed (review published or waiver)   | close                |
 * | resolved      | investigating (reason)                | reopen               |
 * | closed        | investigating (reason)                | reopen               |
 *
 * Decisions (an ops centre's expectations, DOMAIN.md "urgent-incident flow"):
 * - Forward skips are allowed because real incidents do not always pass every stage: a restart can
 *   restore service before anyone knows why (investigating → mitigated), or fix it outright
 *   (investigating → resolved, identified → resolved). Every status past `investigating` can only be
 *   reached moving forward, except through reopen.
 * - `mitigated` is the "monitoring" stage: a workaround holds and the team watches. It is still an
 *   active incident (board, clocks, service health).
 * - `closed` is reached only from `resolved` (the desk confirms with the user first), and only with a
 *   published review or a waiver reason — so no major incident closes without either.
 * - Backward moves exist only as reopen: `resolved | closed → investigating`, with a reason. A
 *   mitigation that fails while still `mitigated` is not a backward move here; the team records it on
 *   the timeline and resolves only once it holds.
 * - `rejected` is terminal: a rejected proposal is proposed again as a new record, so the history of
 *   the rejection stays intact.
 *
 * Key times: `declaredAt` (accepting a proposal; declaring directly sets it at creation),
 * `mitigatedAt`, `resolvedAt`, `closedAt`, `reopenedAt`. Resolving from a stage that was never
 * mitigated stamps `mitigatedAt` too (service is restored, so time-to-mitigate is not blank). Reopen
 * clears `mitigatedAt`, `resolvedAt` and `closedAt` so the metrics measure the final outcome;
 * `reopenedAt` keeps the latest reopen and the audit log keeps every earlier time.
 */
import { err, ok, type DomainError, type Result } from './result';

export const INCIDENT_STATUSES = ['proposed', 'rejected', 'investigating', 'identified', 'mitigated', 'resolved', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Statuses in which the response is under way: the board, the clocks and service health use them. */
export const ACTIVE_STATUSES = ['investigating', 'identified', 'mitigated'] as const;
export type ActiveStatus = (typeof ACTIVE_STATUSES)[number];

export const KEY_TIMES = ['declaredAt', 'mitigatedAt', 'resolvedAt', 'closedAt', 'reopenedAt'] as const;
export type KeyTime = (typeof KEY_TIMES)[number];

export type TransitionKind = 'accept' | 'reject' | 'advance' | 'resolve' | 'close' | 'reopen';

export type OpeningMode = 'declare' | 'propose';

/** Allowed moves. Order is the order the UI offers them (most usual first). */
const TRANSITIONS: Readonly<Record<IncidentStatus, readonly IncidentStatus[]>> = {
	proposed: ['investigating', 'rejected'],
	rejected: [],
	investigating: ['identified', 'mitigated', 'resolved'],
	identified: ['mitigated', 'resolved'],
	mitigated: ['resolved'],
	resolved: ['closed', 'investigating'],
	closed: ['investigating']
};

export function isIncidentStatus(value: unknown): value is IncidentStatus {
	return typeof value === 'string' && (INCIDENT_STATUSES as readonly string[]).includes(value);
}

export function isActiveStatus(status: IncidentStatus): status is ActiveStatus {
	return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

/** Statuses with no way out (`closed` is not terminal: it can be reopened). */
export function isTerminalStatus(status: IncidentStatus): boolean {
	return TRANSITIONS[status].length === 0;
}

export function allowedTransitions(from: IncidentStatus): readonly IncidentStatus[] {
	return TRANSITIONS[from];
}

export function canTransition(from: IncidentStatus, to: IncidentStatus): boolean {
	return TRANSITIONS[from].includes(to);
}

export function parseIncidentStatus(value: unknown, field = 'status'): Result<IncidentStatus> {
	return isIncidentStatus(value)
		? ok(value)
		: err({
				code: 'invalid_value',
				message: `${field} must be one of ${INCIDENT_STATUSES.join(', ')}; got ${JSON.stringify(value)}`,
				field
			});
}

/** A new record starts `proposed`, or `investigating` with `declaredAt` when declared directly. */
export function openingStatus(mode: OpeningMode, now: Date): { status: IncidentStatus; stamps: Partial<Record<KeyTime, Date>> } {
	return mode === 'declare' ? { status: 'investigating', stamps: { declaredAt: now } } : { status: 'proposed', stamps: {} };
}

export interface TransitionInput {
	from: IncidentStatus;
	to: IncidentStatus;
	/** Required to reject a proposal and to reopen. */
	reason?: string | null;
	now: Date;
	/** Closing: whether the post-incident review has been published. */
	reviewPublished?: boolean;
	/** Closing without a published review: why the review is waived. */
	waiverReason?: string | null;
}

export interface TransitionOutcome {
	from: IncidentStatus;
	to: IncidentStatus;
	kind: TransitionKind;
	/** Key times to set, all at `now`. */
	stamps: Partial<Record<KeyTime, Date>>;
	/** Key times to set back to null (reopen). */
	clears: KeyTime[];
	/** The trimmed reason (reject, reopen) or waiver reason (close without review), if any. */
	reason: string | null;
	/** True when closed on a waiver rather than a published review. */
	reviewWaived: boolean;
}

function trimmed(value: string | null | undefined): string | null {
	const t = value?.trim();
	return t ? t : null;
}

function kindOf(from: IncidentStatus, to: IncidentStatus): TransitionKind {
	if (from === 'proposed') return to === 'rejected' ? 'reject' : 'accept';
	if (to === 'investigating') return 'reopen';
	if (to === 'resolved') return 'resolve';
	if (to === 'closed') return 'close';
	return 'advance';
}

function illegal(from: IncidentStatus, to: IncidentStatus): DomainError {
	const allowed = TRANSITIONS[from];
	const message =
		from === to
			? `The incident is already ${from}`
			: `Cannot move an incident from ${from} to ${to}` + (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ` (${from} is final)`);
	return {
		code: 'illegal_transition',
		message,
		field: 'status',
		params: { from, to }
	};
}

/**
 * Checks a status change and says what to record. Pure: the service applies `stamps`/`clears` in the
 * same transaction as the status, and writes the reason to the audit log and timeline.
 */
export function transition(input: TransitionInput): Result<TransitionOutcome> {
	const { from, to, now } = input;
	if (!canTransition(from, to)) return err(illegal(from, to));

	const kind = kindOf(from, to);
	const reason = trimmed(input.reason);
	const stamps: Partial<Record<KeyTime, Date>> = {};
	const clears: KeyTime[] = [];
	let reviewWaived = false;
	let recordedReason: string | null = null;

	switch (kind) {
		case 'accept':
			stamps.declaredAt = now;
			break;
		case 'reject':
			if (!reason) {
				return err({
					code: 'reason_required',
					message: 'Rejecting a proposed incident requires a reason',
					field: 'reason',
					params: { from, to }
				});
			}
			recordedReason = reason;
			break;
		case 'advance':
			if (to === 'mitigated') stamps.mitigatedAt = now;
			break;
		case 'resolve':
			// From a stage that was never mitigated, restoring service is also its mitigation.
			if (from !== 'mitigated') stamps.mitigatedAt = now;
			stamps.resolvedAt = now;
			break;
		case 'close': {
			const waiver = trimmed(input.waiverReason);
			if (!input.reviewPublished && !waiver) {
				return err({
					code: 'review_required',
					message: 'Closing an incident requires a published review or a reason for waiving it',
					field: 'waiverReason',
					params: { from, to }
				});
			}
			if (!input.reviewPublished) {
				reviewWaived = true;
				recordedReason = waiver;
			}
			stamps.closedAt = now;
			break;
		}
		case 'reopen':
			if (!reason) {
				return err({
					code: 'reason_required',
					message: `Reopening a ${from} incident requires a reason`,
					field: 'reason',
					params: { from, to }
				});
			}
			recordedReason = reason;
			stamps.reopenedAt = now;
			clears.push('mitigatedAt', 'resolvedAt', 'closedAt');
			break;
	}

	return ok({
		from,
		to,
		kind,
		stamps,
		clears,
		reason: recordedReason,
		reviewWaived
	});
}

/** The calendar day of `date` in `timeZone` as `YYYYMMDD`: the day a sequence number belongs to. */
export function incidentDayKey(date: Date, timeZone: string): string {
	const parts = new Intl.DateTimeFormat('en-US', {
		timeZone,
		year: 'numeric',
		month: '2-digit',
		day: '2-digit'
	}).formatToParts(date);
	const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
	return `${get('year').padStart(4, '0')}${get('month')}${get('day')}`;
}

export const INCIDENT_NUMBER_PATTERN = /^INC-(\d{8})-(\d{4,})$/;

/**
 * `INC-20261122-0007`: the date is the organisation's calendar day (an incident at 01:00 in Shanghai
 * is numbered for that day, not the UTC day before); `seq` is that day's counter, padded to 4 digits
 * and allowed to grow past 9999 rather than wrap. Kept positional as the call sites read naturally;
 * throws on a non-positive or fractional `seq` (a caller bug) and on an unknown time zone.
 */
export function formatIncidentNumber(date: Date, seq: number, timeZone: string): string {
	if (!Number.isSafeInteger(seq) || seq < 1) {
		throw new RangeError(`Incident sequence must be a positive integer, got ${seq}`);
	}
	return `INC-${incidentDayKey(date, timeZone)}-${String(seq).padStart(4, '0')}`;
}
