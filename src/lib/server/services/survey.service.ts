/**
 * Satisfaction follow-up (回访满意度): when an incident is resolved, the owners of the affected
 * services get a link that works without an account — single use, expiring — asking for a 1–5 score
 * and a comment. The link carries a random secret; only its sha256 is stored, so a database leak
 * does not hand out answerable links. Results show in the review and the monthly report.
 */
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase64urlNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import type { AppContext } from '../context';
import * as surveysRepo from '../repositories/surveys.repository';
import * as incidentsRepo from '../repositories/incidents.repository';
import * as usersRepo from '../repositories/users.repository';
import { notify } from './incident.service';
import { translate } from '../../i18n';

/** How long a survey link stays answerable. */
export const SURVEY_TTL_MS = 14 * 24 * 60 * 60_000;
export const COMMENT_MAX_CHARS = 2_000;
const TOKEN_BYTES = 32;
/** The job looks back this far for resolved incidents without surveys (older ones are not chased). */
const LOOKBACK_MS = 30 * 24 * 60 * 60_000;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,100}$/;

export function hashToken(token: string): string {
	return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

function newToken(): string {
	const bytes = new Uint8Array(TOKEN_BYTES);
	crypto.getRandomValues(bytes);
	return encodeBase64urlNoPadding(bytes);
}

/** Who owns a service: the managers of its owner team, or everyone in it when the team has no manager. */
async function ownersOf(ctx: AppContext, ownerTeamId: string | null): Promise<string[]> {
	if (!ownerTeamId) return [];
	const people = (await usersRepo.listByOrgUnit(ctx.db, ownerTeamId)).filter((u) => !u.disabled);
	const managers = people.filter((u) => u.global_role === 'manager' || u.global_role === 'admin');
	return (managers.length ? managers : people).map((u) => u.id);
}

/**
 * Sends the surveys of one resolved incident (drills are not surveyed: nobody's service was hurt).
 * Idempotent: one survey per incident, service and owner, whatever the number of calls. Returns the
 * links created, so the caller (and the tests) can see them; they are also sent as notifications.
 */
export async function sendSurveys(
	ctx: AppContext,
	opts: { incidentId: string; now?: Date }
): Promise<{ recipientId: string; serviceId: string; link: string }[]> {
	const incident = await incidentsRepo.findById(ctx.db, opts.incidentId);
	if (!incident || incident.drill || (incident.status !== 'resolved' && incident.status !== 'closed')) return [];
	const now = opts.now ?? ctx.now();
	const services = (await incidentsRepo.servicesOf(ctx.db, [incident.id])).get(incident.id) ?? [];
	const out: { recipientId: string; serviceId: string; link: string }[] = [];
	for (const service of services) {
		for (const recipientId of await ownersOf(ctx, service.owner_team_id)) {
			const token = newToken();
			const inserted = await surveysRepo.insertIfAbsent(ctx.db, {
				id: crypto.randomUUID(),
				incident_id: incident.id,
				service_id: service.id,
				recipient_id: recipientId,
				token_hash: hashToken(token),
				created_at: now,
				expires_at: new Date(now.getTime() + SURVEY_TTL_MS)
			});
			if (!inserted) continue;
			const path = `/survey/${token}`;
			const link = ctx.config.origin ? `${ctx.config.origin}${path}` : path;
			out.push({ recipientId, serviceId: service.id, link });
			const params = (locale: 'zh-CN' | 'en') => ({
				number: incident.number,
				title: incident.title,
				service: locale === 'zh-CN' ? service.name_zh : service.name_en,
				link
			});
			await notify(ctx, {
				event: 'survey.sent',
				incidentId: incident.id,
				recipients: [recipientId],
				title: {
					'zh-CN': translate('zh-CN', 'survey.notify.title', params('zh-CN')),
					en: translate('en', 'survey.notify.title', params('en'))
				},
				body: {
					'zh-CN': translate('zh-CN', 'survey.notify.body', params('zh-CN')),
					en: translate('en', 'survey.notify.body', params('en'))
				},
				link: path,
				restricted: incident.restricted,
				dedupeKey: `survey:${incident.id}:${service.id}:${recipientId}`
			});
		}
	}
	return out;
}

/** The follow-up job's part: surveys for recently resolved incidents that have none yet. */
export async function sendPendingSurveys(ctx: AppContext, now: Date): Promise<number> {
	const pending = await surveysRepo.incidentsAwaitingSurveys(ctx.db, { resolvedSince: new Date(now.getTime() - LOOKBACK_MS), limit: 50 });
	let sent = 0;
	for (const { id } of pending) sent += (await sendSurveys(ctx, { incidentId: id, now })).length;
	return sent;
}

export interface SurveyPrompt {
	incidentNumber: string;
	incidentTitle: string;
	serviceCode: string;
	serviceNameZh: string;
	serviceNameEn: string;
}

type SurveyError = DomainError & { code: 'invalid_link' | 'used' | 'expired' | 'invalid' };

async function findOpen(
	ctx: AppContext,
	token: unknown,
	now: Date
): Promise<Result<NonNullable<Awaited<ReturnType<typeof surveysRepo.findByTokenHash>>>, SurveyError>> {
	if (typeof token !== 'string' || !TOKEN_PATTERN.test(token))
		return err({ code: 'invalid_link', message: 'This survey link is not valid' });
	const row = await surveysRepo.findByTokenHash(ctx.db, hashToken(token));
	if (!row) return err({ code: 'invalid_link', message: 'This survey link is not valid' });
	if (row.used_at) return err({ code: 'used', message: 'This survey link was already used' });
	if (row.expires_at <= now) return err({ code: 'expired', message: 'This survey link has expired' });
	return ok(row);
}

/** What the survey page shows for a link (no account needed). */
export async function getSurvey(ctx: AppContext, opts: { token: unknown }): Promise<Result<SurveyPrompt, SurveyError>> {
	const r = await findOpen(ctx, opts.token, ctx.now());
	if (!r.ok) return r;
	const s = r.value;
	return ok({
		incidentNumber: s.incident_number,
		incidentTitle: s.incident_title,
		serviceCode: s.service_code,
		serviceNameZh: s.service_name_zh,
		serviceNameEn: s.service_name_en
	});
}

/** Records the answer once; a second use or an expired link is refused. */
export async function answerSurvey(
	ctx: AppContext,
	opts: { token: unknown; score: unknown; comment?: unknown }
): Promise<Result<true, SurveyError>> {
	const now = ctx.now();
	const r = await findOpen(ctx, opts.token, now);
	if (!r.ok) return r;
	const score = typeof opts.score === 'number' ? opts.score : Number(opts.score);
	if (!Number.isInteger(score) || score < 1 || score > 5)
		return err({ code: 'invalid', message: 'score must be a whole number from 1 to 5', field: 'score' });
	const comment = typeof opts.comment === 'string' ? opts.comment.trim() : '';
	if (comment.length > COMMENT_MAX_CHARS)
		return err({
			code: 'invalid',
			message: `comment must be at most ${COMMENT_MAX_CHARS} characters`,
			field: 'comment',
			params: { max: COMMENT_MAX_CHARS }
		});
	const answered = await surveysRepo.answer(ctx.db, { id: r.value.id, score, comment: comment || null, at: now });
	// Lost a race with another submission of the same link, or it expired in between.
	if (!answered) return err({ code: 'used', message: 'This survey link was already used' });
	return ok(true);
}
