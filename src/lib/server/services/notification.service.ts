/**
 * Notifications: the in-app notification centre (with its live stream), the outbound channels an
 * admin configures, and the delivery queue the worker drains.
 *
 * `send` only writes rows (in-app notifications and one pending delivery per subscribed channel)
 * and returns; posting happens later in `processDueDeliveries`, so a slow or dead receiver never
 * slows the use case that raised the event.
 */
import messages from '../../i18n/messages/notify';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import type { Actor, AppContext, NotifyInput } from '../context';
import type { NotificationChannelRow, NotificationDeliveryRow, NotificationRow } from '../db/schema';
import { DELIVERY_TIMEOUT_MS, MAX_ATTEMPTS, nextAttemptAt } from '../notify/backoff';
import {
	CHANNEL_KINDS,
	SMTP_SECURITY,
	WEBHOOK_SECRET_MIN_LENGTH,
	httpUrlProblem,
	isHttpKind,
	maskConfig,
	secretRule,
	type ChannelKind,
	type ChannelSettingsView,
	type EmailChannelConfig,
	type HttpChannelConfig
} from '../notify/channels';
import { ALL_EVENTS, EVENT_TYPES, TEST_EVENT, subscribes } from '../notify/events';
import { emailFor, httpRequestFor, judgeResponse, type OutboundMessage } from '../notify/format';
import { postHttp, sendSmtp, type TransportResult } from '../notify/transport';
import { log } from '../log';
import * as repo from '../repositories/notifications.repository';
import * as usersRepo from '../repositories/users.repository';
import * as audit from './audit.service';
import { EMAIL, isError, oneOf, recordId, text } from './validate';

type Locale = 'zh-CN' | 'en';

/** How many notifications a page shows. */
export const PAGE_SIZE = 50;
/** How many missed notifications a reconnecting stream replays at most. */
export const STREAM_BACKLOG_LIMIT = 200;
/** Comment/unread frames keep proxies from closing an idle stream and correct the unread count. */
export const STREAM_HEARTBEAT_MS = 25_000;
/** How long the browser waits before reconnecting a dropped stream. */
export const STREAM_RETRY_MS = 5_000;
/** Deliveries posted side by side per worker tick (one slow receiver does not hold up the rest). */
export const CLAIM_BATCH = 20;
/** A test delivery reports at once; it is not retried for hours. */
export const TEST_MAX_ATTEMPTS = 1;
/** How often, and how much past the HTTP timeout, Send test waits for an attempt the worker took over. */
const TEST_SETTLE_POLL_MS = 100;
const TEST_SETTLE_GRACE_MS = 1_000;
const MAX_RECIPIENTS_TO = 50;
const TITLE_MAX_CHARS = 300;
const BODY_MAX_CHARS = 4000;

function msg(locale: Locale, key: keyof (typeof messages)['en'], params: Record<string, string> = {}): string {
	let s: string = messages[locale][key];
	for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(v);
	return s;
}

function forbidden(): DomainError {
	return { code: 'forbidden', message: 'Only administrators can manage notification channels' };
}

function requireAdmin(actor: Actor): DomainError | undefined {
	return actor.globalRole === 'admin' || actor.kind === 'system' ? undefined : forbidden();
}

function requireUser(actor: Actor): Result<string> {
	if (actor.kind !== 'user' || !actor.userId) return err({ code: 'unauthenticated', message: 'Sign in to see notifications' });
	return ok(actor.userId);
}

// ======================================================================================
// Sending
// ======================================================================================

/**
 * Storable text of at most `max` code points: text from a caller that skipped validation may hold a NUL
 * (PostgreSQL text cannot) or an unpaired surrogate; dropping them keeps the rest of the notification
 * instead of losing it all to a database error.
 */
function clip(raw: string, max: number): string {
	const s = raw.replaceAll('\u0000', '').toWellFormed();
	const cps = Array.from(s);
	return cps.length <= max ? s : cps.slice(0, max - 1).join('') + '…';
}

function absoluteLink(ctx: AppContext, path: string | null | undefined): string | null {
	// Robots and e-mail need a full address; without a configured public origin there is none.
	if (!path || !ctx.config.origin) return null;
	return ctx.config.origin + path;
}

/** The message one channel gets, in its language. Restricted incidents: a neutral notice only. */
export function outboundMessage(ctx: AppContext, input: NotifyInput, locale: Locale): OutboundMessage {
	const openLabel = msg(locale, 'notify.out.open');
	if (input.restricted)
		return {
			event: input.event,
			locale,
			title: msg(locale, 'notify.restricted.title'),
			body: msg(locale, 'notify.restricted.body'),
			// The notification centre, not the incident: not even the incident id leaves the app.
			url: absoluteLink(ctx, '/notifications'),
			incidentId: null,
			restricted: true,
			openLabel
		};
	return {
		event: input.event,
		locale,
		title: clip(input.title[locale], TITLE_MAX_CHARS),
		body: clip(input.body[locale], BODY_MAX_CHARS),
		url: absoluteLink(ctx, input.link),
		incidentId: input.incidentId ?? null,
		restricted: false,
		openLabel
	};
}

function checkInput(input: NotifyInput): void {
	// Programming errors in the caller, not user input: fail loudly in tests.
	if (typeof input.event !== 'string' || !/^[a-z_]+(\.[a-z_]+)+$/.test(input.event))
		throw new TypeError(`notify: bad event type ${JSON.stringify(input.event)}`);
	for (const part of [input.title, input.body] as const)
		if (typeof part?.['zh-CN'] !== 'string' || typeof part?.en !== 'string')
			throw new TypeError('notify: title and body need zh-CN and en');
	if (input.link != null && (!input.link.startsWith('/') || input.link.startsWith('//')))
		throw new TypeError(`notify: link must be a path inside the app (got ${input.link})`);
}

export interface SendResult {
	notifications: NotificationRow[];
	deliveries: NotificationDeliveryRow[];
}

/**
 * In-app notifications for the recipients and a queued delivery for every enabled channel that
 * subscribes to the event. With a `dedupeKey`, repeating the call adds nothing. Publishes
 * `notification.created` for each new in-app notification after the commit.
 */
export async function send(ctx: AppContext, input: NotifyInput): Promise<SendResult> {
	checkInput(input);
	const now = ctx.now();
	const recipientIds = [...new Set(input.recipients)];
	const result = await ctx.db.transaction().execute(async (trx) => {
		// Unknown or disabled users are skipped rather than failing everyone else's notification.
		const users = (await usersRepo.listByIds(trx, recipientIds)).filter((u) => !u.disabled);
		const notifications = await repo.insertNotifications(
			trx,
			users.map((u) => ({
				id: crypto.randomUUID(),
				user_id: u.id,
				event: input.event,
				incident_id: input.incidentId ?? null,
				title_zh: clip(input.title['zh-CN'], TITLE_MAX_CHARS),
				title_en: clip(input.title.en, TITLE_MAX_CHARS),
				body_zh: clip(input.body['zh-CN'], BODY_MAX_CHARS),
				body_en: clip(input.body.en, BODY_MAX_CHARS),
				link: input.link ?? null,
				dedupe_key: input.dedupeKey ?? null,
				created_at: now
			}))
		);
		const channels = (await repo.listEnabledChannels(trx)).filter((c) => subscribes(c.events, input.event));
		const deliveries = await repo.insertDeliveries(
			trx,
			channels.map((c) => ({
				id: crypto.randomUUID(),
				channel_id: c.id,
				event: input.event,
				incident_id: input.restricted ? null : (input.incidentId ?? null),
				payload: JSON.stringify(outboundMessage(ctx, input, c.locale)),
				// Without a key every call is its own message.
				dedupe_key: input.dedupeKey ?? `once:${crypto.randomUUID()}`,
				status: 'pending' as const,
				max_attempts: MAX_ATTEMPTS,
				next_attempt_at: now,
				created_at: now
			}))
		);
		return { notifications, deliveries };
	});
	for (const n of result.notifications) ctx.events.publish({ type: 'notification.created', userId: n.user_id, notificationId: n.id });
	return result;
}

// ======================================================================================
// Delivering
// ======================================================================================

function parseConfig(channel: NotificationChannelRow): Record<string, unknown> {
	const c = channel.config as unknown;
	// jsonb comes back parsed from pg and PGlite; a string would mean it was stored double-encoded.
	return typeof c === 'string' ? (JSON.parse(c) as Record<string, unknown>) : ((c ?? {}) as Record<string, unknown>);
}

function payloadOf(row: NotificationDeliveryRow): OutboundMessage {
	const p = row.payload as unknown;
	return (typeof p === 'string' ? JSON.parse(p) : p) as OutboundMessage;
}

async function transmit(
	channel: NotificationChannelRow,
	row: NotificationDeliveryRow,
	opts: { now: Date; timeoutMs: number }
): Promise<{ result: TransportResult; ok: boolean; retryable: boolean; error?: string }> {
	const config = parseConfig(channel);
	const message = payloadOf(row);
	if (isHttpKind(channel.kind)) {
		const req = httpRequestFor({
			kind: channel.kind,
			config: config as unknown as HttpChannelConfig,
			message,
			deliveryId: row.id,
			now: opts.now
		});
		const result = await postHttp(req, opts.timeoutMs);
		if (result.statusCode === null) return { result, ok: false, retryable: true, error: result.error };
		const verdict = judgeResponse(channel.kind, result.statusCode, result.response ?? '');
		return { result, ...verdict };
	}
	const mail = emailFor({ config: config as unknown as EmailChannelConfig, message });
	const result = await sendSmtp(config as unknown as EmailChannelConfig, mail, opts.timeoutMs);
	if (!result.error && result.statusCode !== null && result.statusCode < 400) return { result, ok: true, retryable: false };
	// SMTP: 4xx is "try later", 5xx is "never" (bad recipient, relaying denied); no answer is worth a retry.
	const retryable = result.statusCode === null || result.statusCode < 500;
	return { result, ok: false, retryable, error: result.error ?? `SMTP ${result.statusCode}` };
}

async function attempt(
	ctx: AppContext,
	row: NotificationDeliveryRow,
	opts: { now: Date; timeoutMs: number }
): Promise<NotificationDeliveryRow | undefined> {
	const attempts = row.attempts + 1;
	const channel = await repo.findChannel(ctx.db, row.channel_id);
	let outcome: { result: TransportResult; ok: boolean; retryable: boolean; error?: string };
	if (!channel) return undefined; // deleted meanwhile; its deliveries went with it (on delete cascade)
	if (!channel.enabled && row.event !== TEST_EVENT) {
		// Disabled after the message was queued: do not post, and say why in the log.
		outcome = { result: { statusCode: null, response: null }, ok: false, retryable: false, error: 'the channel is disabled' };
	} else {
		try {
			outcome = await transmit(channel, row, opts);
		} catch (error) {
			// A bug in a formatter or bad stored settings: record it on the row, keep the worker going.
			outcome = {
				result: { statusCode: null, response: null },
				ok: false,
				retryable: false,
				error: error instanceof Error ? error.message : String(error)
			};
		}
	}
	const next = outcome.ok || !outcome.retryable ? null : nextAttemptAt({ attempts, maxAttempts: row.max_attempts, now: opts.now });
	const status = outcome.ok ? 'sent' : next ? 'pending' : 'failed';
	const updated = await repo.recordAttempt(ctx.db, row.id, {
		status,
		attempts,
		nextAttemptAt: next ?? opts.now,
		lastAttemptAt: opts.now,
		lastStatusCode: outcome.result.statusCode,
		lastResponse: outcome.result.response,
		lastError: outcome.ok ? null : (outcome.error ?? null),
		sentAt: outcome.ok ? opts.now : null
	});
	if (status === 'failed' && row.event !== TEST_EVENT)
		log.warn('notification delivery failed for good', {
			deliveryId: row.id,
			channelId: channel.id,
			channel: channel.name,
			attempts,
			statusCode: outcome.result.statusCode,
			error: outcome.error
		});
	return updated;
}

/**
 * One pass of the delivery worker: claims the deliveries due at `now` and posts them side by side.
 * Returns the rows as recorded after their attempt. Tests pass `now` to walk through the back-off.
 */
export async function processDueDeliveries(
	ctx: AppContext,
	opts: { now?: Date; limit?: number; timeoutMs?: number; ids?: string[] } = {}
): Promise<NotificationDeliveryRow[]> {
	const now = opts.now ?? ctx.now();
	const timeoutMs = opts.timeoutMs ?? DELIVERY_TIMEOUT_MS;
	// The lease outlasts an attempt (HTTP timeout plus the body read), so no one else takes the row meanwhile.
	const claimed = await repo.claimDue(ctx.db, { now, limit: opts.limit ?? CLAIM_BATCH, leaseMs: timeoutMs * 3, ids: opts.ids });
	const done = await Promise.all(
		claimed.map((row) =>
			attempt(ctx, row, { now, timeoutMs }).catch((error: unknown) => {
				// The row keeps its lease and is picked up again once it runs out.
				log.error('notification delivery attempt crashed', { deliveryId: row.id, error });
				return undefined;
			})
		)
	);
	return done.filter((r): r is NotificationDeliveryRow => !!r);
}

// ======================================================================================
// In-app notification centre
// ======================================================================================

export interface NotificationView {
	id: string;
	seq: string;
	event: string;
	incidentId: string | null;
	title: { 'zh-CN': string; en: string };
	body: { 'zh-CN': string; en: string };
	link: string | null;
	readAt: string | null;
	createdAt: string;
}

export function toView(n: NotificationRow): NotificationView {
	return {
		id: n.id,
		seq: String(n.seq),
		event: n.event,
		incidentId: n.incident_id,
		title: { 'zh-CN': n.title_zh, en: n.title_en },
		body: { 'zh-CN': n.body_zh, en: n.body_en },
		link: n.link,
		readAt: n.read_at ? new Date(n.read_at).toISOString() : null,
		createdAt: new Date(n.created_at).toISOString()
	};
}

const SEQ = /^\d{1,18}$/;

export async function listNotifications(
	ctx: AppContext,
	actor: Actor,
	opts: { before?: string | null; unreadOnly?: boolean } = {}
): Promise<Result<{ items: NotificationView[]; unread: number; more: boolean }>> {
	const user = requireUser(actor);
	if (!user.ok) return user;
	if (opts.before && !SEQ.test(opts.before))
		return err({ code: 'invalid_value', message: 'before must be a notification sequence number', field: 'before' });
	const rows = await repo.listForUser(ctx.db, {
		userId: user.value,
		limit: PAGE_SIZE + 1,
		beforeSeq: opts.before ?? undefined,
		unreadOnly: opts.unreadOnly
	});
	const unread = await repo.countUnread(ctx.db, user.value);
	return ok({ items: rows.slice(0, PAGE_SIZE).map(toView), unread, more: rows.length > PAGE_SIZE });
}

export async function unreadCount(ctx: AppContext, actor: Actor): Promise<number> {
	const user = requireUser(actor);
	return user.ok ? repo.countUnread(ctx.db, user.value) : 0;
}

export async function markRead(ctx: AppContext, actor: Actor, id: unknown): Promise<Result<{ unread: number }>> {
	const user = requireUser(actor);
	if (!user.ok) return user;
	if (typeof id !== 'string' || id.length === 0) return err({ code: 'required', message: 'id is required', field: 'id' });
	const known = recordId(id);
	const row = known === undefined ? undefined : await repo.findNotification(ctx.db, known);
	// Someone else's notification is "not found", not "forbidden": its existence is not ours to tell.
	if (!row || row.user_id !== user.value) return err({ code: 'not_found', message: 'No such notification', field: 'id' });
	await repo.markRead(ctx.db, { userId: user.value, id, at: ctx.now() });
	return ok({ unread: await repo.countUnread(ctx.db, user.value) });
}

export async function markAllRead(ctx: AppContext, actor: Actor): Promise<Result<{ marked: number }>> {
	const user = requireUser(actor);
	if (!user.ok) return user;
	return ok({ marked: await repo.markAllRead(ctx.db, { userId: user.value, at: ctx.now() }) });
}

/**
 * The live stream of the actor's notifications as Server-Sent Events (bytes ready for a
 * `Response`). Frames: `event: notification` with `id: <seq>` and the notification plus the
 * unread count; `event: unread` with the count (at the start and as a heartbeat).
 *
 * With `lastEventId` (the browser sends `Last-Event-ID` when it reconnects) everything after that
 * notification is replayed first, so a dropped connection misses nothing. The subscription is taken
 * before the replay query and frames are written in order, skipping any seq already written, so a
 * notification arriving during the replay is neither lost nor sent twice.
 */
export function openStream(
	ctx: AppContext,
	actor: Actor,
	opts: { lastEventId?: string | null; signal?: AbortSignal; heartbeatMs?: number } = {}
): Result<ReadableStream<Uint8Array>> {
	const user = requireUser(actor);
	if (!user.ok) return user;
	const userId = user.value;
	const resumeFrom = opts.lastEventId && SEQ.test(opts.lastEventId.trim()) ? opts.lastEventId.trim() : null;
	const encoder = new TextEncoder();
	let cleanup = () => {};

	const stream = new ReadableStream<Uint8Array>({
		start(controller) {
			let closed = false;
			let lastSent = resumeFrom ? BigInt(resumeFrom) : 0n;
			let chain: Promise<void> = Promise.resolve();
			const write = (s: string) => {
				if (!closed) controller.enqueue(encoder.encode(s));
			};
			const frame = (n: NotificationRow, unread: number) => {
				const seq = BigInt(String(n.seq));
				if (seq <= lastSent) return;
				lastSent = seq;
				write(`id: ${seq}\nevent: notification\ndata: ${JSON.stringify({ ...toView(n), unread })}\n\n`);
			};
			const enqueue = (job: () => Promise<void>) => {
				chain = chain.then(job).catch((error: unknown) => {
					// A failed read (database restart) ends this stream; the browser reconnects with Last-Event-ID.
					log.warn('notification stream failed', { userId, error });
					close(true);
				});
			};
			/** Everything after `afterSeq` (none: nothing to replay), then the unread count. */
			const catchUp = async (afterSeq: string | null) => {
				const missed = afterSeq ? await repo.listAfter(ctx.db, { userId, afterSeq, limit: STREAM_BACKLOG_LIMIT }) : [];
				// Counted after the replay was read, so the count includes every notification replayed.
				const unread = await repo.countUnread(ctx.db, userId);
				for (const n of missed) frame(n, unread);
				write(`event: unread\ndata: ${JSON.stringify({ unread })}\n\n`);
			};
			const unsubscribe = ctx.events.subscribe((e) => {
				// Another process's notifications may be among what was lost: send what came after the last
				// one this stream wrote, and the unread count.
				if (e.type === 'events.missed') return enqueue(() => catchUp(lastSent > 0n ? String(lastSent) : null));
				if (e.type !== 'notification.created' || e.userId !== userId) return;
				enqueue(async () => {
					const n = await repo.findNotification(ctx.db, e.notificationId);
					if (n && n.user_id === userId) frame(n, await repo.countUnread(ctx.db, userId));
				});
			});
			const heartbeat = setInterval(
				() =>
					enqueue(async () => {
						write(`event: unread\ndata: ${JSON.stringify({ unread: await repo.countUnread(ctx.db, userId) })}\n\n`);
					}),
				opts.heartbeatMs ?? STREAM_HEARTBEAT_MS
			);
			const close = (errored = false) => {
				if (closed) return;
				closed = true;
				unsubscribe();
				clearInterval(heartbeat);
				opts.signal?.removeEventListener('abort', onAbort);
				try {
					if (!errored) controller.close();
					else controller.error(new Error('notification stream ended'));
				} catch {
					// Already closed by the consumer cancelling: nothing left to close.
				}
			};
			const onAbort = () => close();
			cleanup = () => close();
			if (opts.signal?.aborted) return close();
			opts.signal?.addEventListener('abort', onAbort);

			write(`retry: ${STREAM_RETRY_MS}\n\n`);
			enqueue(() => catchUp(resumeFrom));
		},
		cancel() {
			cleanup();
		}
	});
	return ok(stream);
}

// ======================================================================================
// Channels (admins)
// ======================================================================================

export interface ChannelView {
	id: string;
	kind: ChannelKind;
	name: string;
	locale: Locale;
	enabled: boolean;
	events: string[];
	settings: ChannelSettingsView;
	failed: number;
	pending: number;
	lastSentAt: string | null;
	updatedAt: string;
}

function channelView(c: NotificationChannelRow, counts?: { failed: number; pending: number; lastSentAt: Date | null }): ChannelView {
	return {
		id: c.id,
		kind: c.kind,
		name: c.name,
		locale: c.locale,
		enabled: c.enabled,
		events: c.events,
		settings: maskConfig(c.kind, parseConfig(c)),
		failed: counts?.failed ?? 0,
		pending: counts?.pending ?? 0,
		lastSentAt: counts?.lastSentAt ? counts.lastSentAt.toISOString() : null,
		updatedAt: new Date(c.updated_at).toISOString()
	};
}

export interface DeliveryView {
	id: string;
	channelId: string;
	event: string;
	title: string;
	status: 'pending' | 'sent' | 'failed';
	attempts: number;
	maxAttempts: number;
	nextAttemptAt: string | null;
	lastAttemptAt: string | null;
	lastStatusCode: number | null;
	lastResponse: string | null;
	lastError: string | null;
	sentAt: string | null;
	createdAt: string;
}

function deliveryView(d: NotificationDeliveryRow): DeliveryView {
	const iso = (v: Date | string | null) => (v ? new Date(v).toISOString() : null);
	return {
		id: d.id,
		channelId: d.channel_id,
		event: d.event,
		title: payloadOf(d).title,
		status: d.status,
		attempts: d.attempts,
		maxAttempts: d.max_attempts,
		nextAttemptAt: d.status === 'pending' ? iso(d.next_attempt_at) : null,
		lastAttemptAt: iso(d.last_attempt_at),
		lastStatusCode: d.last_status_code,
		lastResponse: d.last_response,
		lastError: d.last_error,
		sentAt: iso(d.sent_at),
		createdAt: new Date(d.created_at).toISOString()
	};
}

export async function listChannels(
	ctx: AppContext,
	actor: Actor
): Promise<Result<{ channels: ChannelView[]; recentFailures: (DeliveryView & { channelName: string })[] }>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const [rows, counts, failures] = [
		await repo.listChannels(ctx.db),
		await repo.deliveryCounts(ctx.db),
		await repo.listDeliveries(ctx.db, { status: 'failed', limit: 10 })
	];
	const names = new Map(rows.map((r) => [r.id, r.name]));
	return ok({
		channels: rows.map((r) => channelView(r, counts.get(r.id))),
		recentFailures: failures.map((d) => ({ ...deliveryView(d), channelName: names.get(d.channel_id) ?? '' }))
	});
}

export async function getChannel(
	ctx: AppContext,
	actor: Actor,
	id: string
): Promise<Result<{ channel: ChannelView; deliveries: DeliveryView[] }>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const row = await repo.findChannel(ctx.db, id);
	if (!row) return err({ code: 'not_found', message: 'No such channel' });
	const counts = await repo.deliveryCounts(ctx.db);
	const deliveries = await repo.listDeliveries(ctx.db, { channelId: id, limit: 100 });
	return ok({ channel: channelView(row, counts.get(id)), deliveries: deliveries.map(deliveryView) });
}

export interface ChannelInput {
	name?: unknown;
	kind?: unknown;
	locale?: unknown;
	enabled?: unknown;
	/** Event types, or ['*']. */
	events?: unknown;
	url?: unknown;
	secret?: unknown;
	clearSecret?: unknown;
	host?: unknown;
	port?: unknown;
	security?: unknown;
	username?: unknown;
	password?: unknown;
	clearPassword?: unknown;
	from?: unknown;
	/** A list, or one string with addresses separated by commas, semicolons or new lines. */
	to?: unknown;
}

export type ChannelFailure = DomainError & { errors?: DomainError[] };

function truthy(v: unknown): boolean {
	return v === true || v === 'on' || v === 'true' || v === '1';
}

function blank(v: unknown): boolean {
	return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

function validateEvents(raw: unknown, errors: DomainError[]): string[] {
	// An empty string is what a form sends for "nothing chosen"; it is not an unknown event type.
	const list = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []).map(String).filter((e) => e !== '');
	if (list.includes(ALL_EVENTS)) return [ALL_EVENTS];
	const unknown = list.filter((e) => !(EVENT_TYPES as readonly string[]).includes(e));
	if (unknown.length)
		errors.push({ code: 'invalid_value', message: `events: unknown event type ${unknown[0]!.slice(0, 60)}`, field: 'events' });
	const events = [...new Set(list.filter((e) => (EVENT_TYPES as readonly string[]).includes(e)))];
	if (events.length === 0 && unknown.length === 0)
		errors.push({ code: 'required', message: 'events: choose at least one event (or all events)', field: 'events' });
	return events;
}

function validateHttpConfig(
	kind: ChannelKind,
	input: ChannelInput,
	existing: Record<string, unknown> | undefined,
	errors: DomainError[]
): HttpChannelConfig {
	const config: HttpChannelConfig = { url: typeof existing?.url === 'string' ? existing.url : '' };
	if (!blank(input.url) || !existing) {
		const url = text('url', input.url, { required: true, max: 2000 });
		if (isError(url)) errors.push(url);
		else if (url) {
			const problem = httpUrlProblem(url);
			if (problem)
				errors.push({
					code: problem,
					message: problem === 'invalid_scheme' ? 'url must start with http:// or https://' : 'url is not a valid address',
					field: 'url'
				});
			else config.url = url;
		}
	}
	const rule = secretRule(kind);
	if (rule !== 'none') {
		let secret = typeof existing?.secret === 'string' ? existing.secret : undefined;
		if (truthy(input.clearSecret)) secret = undefined;
		if (!blank(input.secret)) {
			const s = text('secret', input.secret, { max: 200 });
			if (isError(s)) errors.push(s);
			else secret = s;
		}
		if (kind === 'webhook') {
			if (!secret)
				errors.push({ code: 'required', message: 'secret is required: receivers check the X-Warroom-Signature with it', field: 'secret' });
			else if (secret.length < WEBHOOK_SECRET_MIN_LENGTH)
				errors.push({
					code: 'too_short',
					message: `secret must be at least ${WEBHOOK_SECRET_MIN_LENGTH} characters`,
					field: 'secret',
					params: { min: WEBHOOK_SECRET_MIN_LENGTH }
				});
		}
		if (secret) config.secret = secret;
	}
	return config;
}

function validateEmailConfig(
	input: ChannelInput,
	existing: Record<string, unknown> | undefined,
	errors: DomainError[]
): EmailChannelConfig {
	const host = text('host', input.host, { required: true, max: 255 });
	if (isError(host)) errors.push(host);
	else if (host && !/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(host))
		errors.push({ code: 'invalid_format', message: 'host must be a host name or IP address', field: 'host' });
	const security = oneOf('security', blank(input.security) ? 'starttls' : input.security, SMTP_SECURITY);
	if (isError(security)) errors.push(security);
	const defaultPort = security === 'tls' ? 465 : security === 'none' ? 25 : 587;
	const portRaw = blank(input.port) ? defaultPort : Number(typeof input.port === 'string' ? input.port.trim() : input.port);
	if (!Number.isInteger(portRaw) || portRaw < 1 || portRaw > 65535)
		errors.push({
			code: 'out_of_range',
			message: 'port must be a whole number between 1 and 65535',
			field: 'port',
			params: { min: 1, max: 65535 }
		});
	const username = text('username', input.username, { max: 200 });
	if (isError(username)) errors.push(username);
	let password = typeof existing?.password === 'string' ? existing.password : undefined;
	if (truthy(input.clearPassword)) password = undefined;
	if (!blank(input.password)) {
		// Passwords are taken as typed (spaces included), only bounded.
		if (typeof input.password !== 'string' || input.password.length > 500)
			errors.push({ code: 'too_long', message: 'password is too long', field: 'password', params: { max: 500 } });
		else password = input.password;
	}
	const from = text('from', input.from, { required: true, max: 200 });
	if (isError(from)) errors.push(from);
	else if (from && !EMAIL.test(from.replace(/^.*<([^>]+)>\s*$/, '$1')))
		errors.push({ code: 'invalid_email', message: `from is not a valid address`, field: 'from', params: { value: from.slice(0, 60) } });
	const toList = (Array.isArray(input.to) ? input.to.map(String) : typeof input.to === 'string' ? input.to.split(/[\s,;]+/) : [])
		.map((s) => s.trim())
		.filter(Boolean);
	const to = [...new Set(toList)];
	if (to.length === 0) errors.push({ code: 'required', message: 'to: at least one recipient is required', field: 'to' });
	else if (to.length > MAX_RECIPIENTS_TO)
		errors.push({
			code: 'too_many',
			message: `to: at most ${MAX_RECIPIENTS_TO} recipients`,
			field: 'to',
			params: { max: MAX_RECIPIENTS_TO }
		});
	else {
		const bad = to.find((a) => a.length > 200 || !EMAIL.test(a));
		if (bad)
			errors.push({
				code: 'invalid_email',
				message: `to: ${bad.slice(0, 60)} is not a valid address`,
				field: 'to',
				params: { value: bad.slice(0, 60) }
			});
	}
	const config: EmailChannelConfig = {
		host: typeof host === 'string' ? host : '',
		port: Number.isInteger(portRaw) ? portRaw : defaultPort,
		security: isError(security) ? 'starttls' : security,
		from: typeof from === 'string' ? from : '',
		to
	};
	if (typeof username === 'string') config.username = username;
	if (password !== undefined) config.password = password;
	return config;
}

/** Creates (no id) or updates a channel. Empty secret/password/URL fields on update keep the stored value. */
export async function saveChannel(
	ctx: AppContext,
	actor: Actor,
	opts: { id?: string; input: ChannelInput }
): Promise<Result<ChannelView, ChannelFailure>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const { input } = opts;
	const existing = opts.id ? await repo.findChannel(ctx.db, opts.id) : undefined;
	if (opts.id && !existing) return err({ code: 'not_found', message: 'No such channel' });
	const errors: DomainError[] = [];
	const name = text('name', input.name, { required: true, max: 100 });
	if (isError(name)) errors.push(name);
	// The kind is fixed once created: its settings would not fit another kind.
	const kind = existing ? existing.kind : oneOf('kind', input.kind, CHANNEL_KINDS);
	if (isError(kind)) errors.push(kind);
	const locale = oneOf('locale', blank(input.locale) ? 'zh-CN' : input.locale, ['zh-CN', 'en'] as const);
	if (isError(locale)) errors.push(locale);
	const events = validateEvents(input.events, errors);
	let config: HttpChannelConfig | EmailChannelConfig | undefined;
	if (!isError(kind)) {
		const prev = existing ? parseConfig(existing) : undefined;
		config = isHttpKind(kind) ? validateHttpConfig(kind, input, prev, errors) : validateEmailConfig(input, prev, errors);
	}
	if (errors.length) return err({ code: 'invalid', message: errors.map((e) => e.message).join('; '), errors });
	const now = ctx.now();
	const values = {
		name: name as string,
		locale: locale as Locale,
		enabled: truthy(input.enabled),
		events,
		config: JSON.stringify(config),
		updated_at: now
	};
	const row = await ctx.db.transaction().execute(async (trx) => {
		const saved = existing
			? await repo.updateChannel(trx, existing.id, values)
			: await repo.insertChannel(trx, {
					id: crypto.randomUUID(),
					kind: kind as ChannelKind,
					created_by: actor.userId,
					created_at: now,
					...values
				});
		if (!saved) return undefined;
		// The audit log keeps the masked settings: a secret in an append-only log could never be removed.
		const auditView = (c: NotificationChannelRow) => ({
			name: c.name,
			kind: c.kind,
			locale: c.locale,
			enabled: c.enabled,
			events: c.events,
			settings: maskConfig(c.kind, parseConfig(c))
		});
		await audit.record(trx, {
			actorId: actor.userId,
			action: existing ? 'notification_channel.update' : 'notification_channel.create',
			subjectType: 'notification_channel',
			subjectId: saved.id,
			before: existing ? auditView(existing) : undefined,
			after: auditView(saved),
			at: now
		});
		return saved;
	});
	return row ? ok(channelView(row)) : err({ code: 'not_found', message: 'No such channel' });
}

export async function deleteChannel(ctx: AppContext, actor: Actor, id: string): Promise<Result<{ name: string }>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const existing = await repo.findChannel(ctx.db, id);
	if (!existing) return err({ code: 'not_found', message: 'No such channel' });
	await ctx.db.transaction().execute(async (trx) => {
		await repo.deleteChannel(trx, id);
		await audit.record(trx, {
			actorId: actor.userId,
			action: 'notification_channel.delete',
			subjectType: 'notification_channel',
			subjectId: id,
			before: { name: existing.name, kind: existing.kind, settings: maskConfig(existing.kind, parseConfig(existing)) },
			at: ctx.now()
		});
	});
	return ok({ name: existing.name });
}

/**
 * "Send test": queues a test message for the channel (even a disabled one, so it can be tried
 * before it is switched on) and posts it at once, so the admin sees the receiver's answer.
 */
export async function sendTest(
	ctx: AppContext,
	actor: Actor,
	id: string,
	opts: { timeoutMs?: number } = {}
): Promise<Result<DeliveryView>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const channel = await repo.findChannel(ctx.db, id);
	if (!channel) return err({ code: 'not_found', message: 'No such channel' });
	const now = ctx.now();
	const message: OutboundMessage = {
		event: TEST_EVENT,
		locale: channel.locale,
		title: msg(channel.locale, 'notify.test.title'),
		body: msg(channel.locale, 'notify.test.body', { name: channel.name }),
		url: absoluteLink(ctx, '/admin/channels/' + channel.id),
		incidentId: null,
		restricted: false,
		openLabel: msg(channel.locale, 'notify.out.open')
	};
	const [row] = await repo.insertDeliveries(ctx.db, [
		{
			id: crypto.randomUUID(),
			channel_id: channel.id,
			event: TEST_EVENT,
			incident_id: null,
			payload: JSON.stringify(message),
			dedupe_key: `test:${crypto.randomUUID()}`,
			status: 'pending',
			max_attempts: TEST_MAX_ATTEMPTS,
			next_attempt_at: now,
			created_at: now
		}
	]);
	if (!row) throw new Error('sendTest: the test delivery was not inserted');
	const timeoutMs = opts.timeoutMs ?? DELIVERY_TIMEOUT_MS;
	const [done] = await processDueDeliveries(ctx, { now, ids: [row.id], timeoutMs });
	let final = done ?? (await repo.findDelivery(ctx.db, row.id));
	// The background worker may have claimed the row first: wait for its attempt rather than
	// reporting a test that is still under way.
	const deadline = Date.now() + timeoutMs + TEST_SETTLE_GRACE_MS;
	while (final && final.status === 'pending' && final.attempts === 0 && Date.now() < deadline) {
		await new Promise((r) => setTimeout(r, TEST_SETTLE_POLL_MS));
		final = await repo.findDelivery(ctx.db, row.id);
	}
	if (!final) return err({ code: 'not_found', message: 'The channel was deleted during the test' });
	return ok(deliveryView(final));
}

/** An admin gives a failed delivery a fresh set of attempts (e.g. after fixing the channel). */
export async function retryDelivery(ctx: AppContext, actor: Actor, deliveryId: string): Promise<Result<DeliveryView>> {
	const denied = requireAdmin(actor);
	if (denied) return err(denied);
	const row = await repo.findDelivery(ctx.db, deliveryId);
	if (!row) return err({ code: 'not_found', message: 'No such delivery' });
	if (row.status !== 'failed') return err({ code: 'conflict', message: 'Only a failed delivery can be tried again' });
	const updated = await repo.requeue(ctx.db, {
		id: deliveryId,
		now: ctx.now(),
		maxAttempts: row.event === TEST_EVENT ? TEST_MAX_ATTEMPTS : MAX_ATTEMPTS
	});
	if (!updated) return err({ code: 'conflict', message: 'The delivery changed meanwhile' });
	return ok(deliveryView(updated));
}
