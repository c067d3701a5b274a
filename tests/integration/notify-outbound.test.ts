/**
 * Outbound notifications against local sinks: the bytes each receiver gets, the signatures, the
 * retry schedule (driven with an explicit `now`, no sleeping), and that a dead receiver never holds
 * up `send`.
 */
import { createHmac } from 'node:crypto';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Actor, NotifyInput } from '../../src/lib/server/context';
import { Notifier } from '../../src/lib/server/notify/notifier';
import { DeliveryWorker } from '../../src/lib/server/notify/worker';
import { declareIncident } from '../../src/lib/server/services/incident.service';
import * as repo from '../../src/lib/server/repositories/notifications.repository';
import {
	getChannel,
	listChannels,
	processDueDeliveries,
	retryDelivery,
	saveChannel,
	send,
	sendTest,
	type ChannelInput
} from '../../src/lib/server/services/notification.service';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';
import { decodeHeader, parseMail, startHttpSink, startSmtpSink, type HttpSink, type SmtpSink } from './notify-sinks';

const ORIGIN = 'https://warroom.bank.cn';
let ctx: TestContext;
let sink: HttpSink;
let smtp: SmtpSink;
let admin: Actor;
let responder: { id: string; actor: Actor };

beforeAll(async () => {
	ctx = await createTestContext({ origin: ORIGIN });
	sink = await startHttpSink();
	smtp = await startSmtpSink();
	admin = (await makeUser(ctx, { role: 'admin' })).actor;
	responder = await makeUser(ctx, { role: 'responder' });
});
afterAll(async () => {
	await sink.close();
	await smtp.close();
	await ctx.close();
});
afterEach(async () => {
	// Channels are global: each test starts without any.
	await ctx.db.deleteFrom('notification_channels').execute();
	sink.requests.length = 0;
	smtp.messages.length = 0;
	sink.respond(() => ({ status: 200, body: '{}' }));
	ctx.setNow(null);
});

async function channel(input: ChannelInput): Promise<string> {
	const r = await saveChannel(ctx, admin, { input: { enabled: 'on', locale: 'zh-CN', events: ['incident.declared'], ...input } });
	if (!r.ok) throw new Error(`channel: ${r.error.message}`);
	return r.value.id;
}

const declared = (over: Partial<NotifyInput> = {}): NotifyInput => ({
	event: 'incident.declared',
	incidentId: 'inc-1',
	recipients: [responder.id],
	title: { 'zh-CN': 'P1 核心银行系统性能下降', en: 'P1 Core banking degraded' },
	body: { 'zh-CN': '柜面与网银交易超时。', en: 'Branch and online banking transactions time out.' },
	link: '/incidents/inc-1',
	...over
});

/** A port that was free a moment ago: nothing listens there. */
async function closedPort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	const { port } = server.address() as net.AddressInfo;
	await new Promise<void>((r) => server.close(() => r()));
	return port;
}

const hmacHex = (key: string, data: string | Buffer) => createHmac('sha256', key).update(data).digest('hex');
const hmacB64 = (key: string, data: string) => createHmac('sha256', key).update(data).digest('base64');

describe(`outbound notifications (${dbLabel})`, () => {
	it('posts each robot its own message format, in the channel language, with valid signatures', async () => {
		sink.respond((req) =>
			req.url.startsWith('/wecom') || req.url.startsWith('/dingtalk')
				? { status: 200, body: '{"errcode":0,"errmsg":"ok"}' }
				: req.url.startsWith('/feishu')
					? { status: 200, body: '{"code":0,"msg":"success","data":{}}' }
					: req.url.startsWith('/slack')
						? { status: 200, body: 'ok', contentType: 'text/plain' }
						: { status: 202, body: '' }
		);
		await channel({ kind: 'webhook', name: 'SOC webhook', url: `${sink.base}/webhook`, secret: 'whsec-0123456789abcdef' });
		await channel({ kind: 'wecom', name: '运维群', url: `${sink.base}/wecom/send?key=wk-1` });
		await channel({
			kind: 'dingtalk',
			name: '钉钉值班群',
			url: `${sink.base}/dingtalk/robot/send?access_token=dt-1`,
			secret: 'SECdingding'
		});
		await channel({ kind: 'feishu', name: '飞书群', url: `${sink.base}/feishu/hook/fs-1`, secret: 'feishu-secret' });
		await channel({ kind: 'slack', name: 'Slack #major', url: `${sink.base}/slack/T1/B1/x`, locale: 'en' });
		await channel({ kind: 'teams', name: 'Teams', url: `${sink.base}/teams`, locale: 'en' });

		const now = new Date('2026-11-23T08:00:00.000Z');
		ctx.setNow(now);
		const { deliveries } = await send(ctx, declared());
		expect(deliveries).toHaveLength(6);
		expect(sink.requests).toHaveLength(0); // queued, not posted by send
		const done = await processDueDeliveries(ctx, { now });
		expect(done.map((d) => d.status)).toEqual(Array(6).fill('sent'));

		const byPath = (p: string) => sink.requests.find((r) => r.url.startsWith(p))!;
		for (const r of sink.requests) {
			expect(r.method).toBe('POST');
			expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
		}

		const webhook = byPath('/webhook');
		expect(webhook.headers['x-warroom-signature']).toBe('sha256=' + hmacHex('whsec-0123456789abcdef', webhook.raw));
		expect(webhook.headers['x-warroom-timestamp']).toBe(String(now.getTime() / 1000));
		expect(webhook.headers['x-warroom-event']).toBe('incident.declared');
		expect(JSON.parse(webhook.body)).toEqual({
			id: webhook.headers['x-warroom-delivery'],
			event: 'incident.declared',
			sentAt: now.toISOString(),
			locale: 'zh-CN',
			restricted: false,
			incidentId: 'inc-1',
			title: 'P1 核心银行系统性能下降',
			body: '柜面与网银交易超时。',
			url: `${ORIGIN}/incidents/inc-1`
		});
		// The bytes on the wire are UTF-8, not \u escapes.
		expect(webhook.raw.includes(Buffer.from('核心银行', 'utf8'))).toBe(true);

		expect(byPath('/wecom').url).toBe('/wecom/send?key=wk-1');
		expect(JSON.parse(byPath('/wecom').body)).toEqual({
			msgtype: 'markdown',
			markdown: { content: `**P1 核心银行系统性能下降**\n柜面与网银交易超时。\n[在 Warroom 中查看](${ORIGIN}/incidents/inc-1)` }
		});

		const ding = byPath('/dingtalk');
		const q = new URL(ding.url, sink.base).searchParams;
		expect(q.get('access_token')).toBe('dt-1');
		expect(q.get('timestamp')).toBe(String(now.getTime()));
		expect(q.get('sign')).toBe(createHmac('sha256', 'SECdingding').update(`${now.getTime()}\nSECdingding`).digest('base64'));
		expect(JSON.parse(ding.body)).toEqual({
			msgtype: 'markdown',
			markdown: {
				title: 'P1 核心银行系统性能下降',
				text: `#### P1 核心银行系统性能下降\n\n柜面与网银交易超时。\n\n[在 Warroom 中查看](${ORIGIN}/incidents/inc-1)`
			}
		});

		const feishu = JSON.parse(byPath('/feishu').body) as Record<string, unknown>;
		const ts = Math.floor(now.getTime() / 1000);
		expect(feishu.timestamp).toBe(String(ts));
		expect(feishu.sign).toBe(hmacB64(`${ts}\nfeishu-secret`, ''));
		expect(feishu.msg_type).toBe('post');
		expect(feishu.content).toEqual({
			post: {
				zh_cn: {
					title: 'P1 核心银行系统性能下降',
					content: [
						[{ tag: 'text', text: '柜面与网银交易超时。' }],
						[{ tag: 'a', text: '在 Warroom 中查看', href: `${ORIGIN}/incidents/inc-1` }]
					]
				}
			}
		});

		expect(JSON.parse(byPath('/slack').body)).toEqual({
			text: 'P1 Core banking degraded\nBranch and online banking transactions time out.',
			blocks: [
				{ type: 'header', text: { type: 'plain_text', text: 'P1 Core banking degraded', emoji: true } },
				{
					type: 'section',
					text: { type: 'mrkdwn', text: `Branch and online banking transactions time out.\n<${ORIGIN}/incidents/inc-1|Open in Warroom>` }
				}
			]
		});

		const teams = JSON.parse(byPath('/teams').body) as {
			type: string;
			attachments: { contentType: string; content: { type: string; body: { text: string }[] } }[];
		};
		expect(teams.type).toBe('message');
		expect(teams.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
		expect(teams.attachments[0]!.content.type).toBe('AdaptiveCard');
		expect(teams.attachments[0]!.content.body.map((b) => b.text)).toEqual([
			'P1 Core banking degraded',
			'Branch and online banking transactions time out.'
		]);

		// The delivery log keeps the receivers' answers.
		expect(done.find((d) => d.last_response === 'ok')?.last_status_code).toBe(200);
		expect(done.find((d) => d.last_response === '{"code":0,"msg":"success","data":{}}')?.last_status_code).toBe(200);
	});

	it('sends e-mail over SMTP with a UTF-8 Chinese subject and body', async () => {
		await channel({
			kind: 'email',
			name: '值班邮件',
			host: smtp.host,
			port: String(smtp.port),
			security: 'none',
			from: 'warroom@bank.cn',
			to: 'ops@bank.cn, duty@bank.cn'
		});
		await send(ctx, declared());
		const [d] = await processDueDeliveries(ctx);
		expect(d?.status).toBe('sent');
		expect(d?.last_status_code).toBe(250);
		expect(d?.last_response).toContain('250 2.0.0 OK');
		expect(smtp.messages).toHaveLength(1);
		const m = smtp.messages[0]!;
		expect(m.from).toBe('warroom@bank.cn');
		expect(m.to).toEqual(['ops@bank.cn', 'duty@bank.cn']);
		const mail = parseMail(m.data);
		expect(decodeHeader(mail.headers.subject!)).toBe('P1 核心银行系统性能下降');
		expect(mail.headers['content-type']).toMatch(/text\/plain; charset=utf-8/i);
		expect(mail.text).toBe(`柜面与网银交易超时。\n\n在 Warroom 中查看: ${ORIGIN}/incidents/inc-1\n`);
	});

	it('retries a failing receiver with back-off: 500, 500, then 200 makes three attempts', async () => {
		const answers = [500, 500, 200];
		sink.respond(() => ({ status: answers.shift() ?? 200, body: 'answer' }));
		await channel({ kind: 'webhook', name: 'flaky', url: `${sink.base}/flaky`, secret: 'whsec-0123456789abcdef' });
		const t0 = new Date('2026-11-23T09:00:00.000Z');
		ctx.setNow(t0);
		const { deliveries } = await send(ctx, declared());
		const id = deliveries[0]!.id;

		let [d] = await processDueDeliveries(ctx, { now: t0 });
		expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 500, last_response: 'answer', last_error: 'HTTP 500' });
		expect(new Date(d!.next_attempt_at).toISOString()).toBe('2026-11-23T09:00:30.000Z');

		// Not due yet: nothing is posted.
		expect(await processDueDeliveries(ctx, { now: new Date('2026-11-23T09:00:29.000Z') })).toEqual([]);
		expect(sink.requests).toHaveLength(1);

		[d] = await processDueDeliveries(ctx, { now: new Date('2026-11-23T09:00:30.000Z') });
		expect(d).toMatchObject({ status: 'pending', attempts: 2, last_status_code: 500 });
		expect(new Date(d!.next_attempt_at).toISOString()).toBe('2026-11-23T09:02:30.000Z');

		[d] = await processDueDeliveries(ctx, { now: new Date('2026-11-23T09:02:30.000Z') });
		expect(d).toMatchObject({ status: 'sent', attempts: 3, last_status_code: 200, last_error: null });
		expect(new Date(d!.sent_at!).toISOString()).toBe('2026-11-23T09:02:30.000Z');
		expect(sink.requests).toHaveLength(3);
		// Every attempt carries the same delivery id, so the receiver can drop duplicates.
		expect(new Set(sink.requests.map((r) => r.headers['x-warroom-delivery']))).toEqual(new Set([id]));
	});

	it('gives up after six attempts and shows the failure to admins', async () => {
		sink.respond(() => ({ status: 503, body: 'maintenance' }));
		const channelId = await channel({ kind: 'slack', name: 'down', url: `${sink.base}/down` });
		let now = new Date('2026-11-23T10:00:00.000Z');
		ctx.setNow(now);
		await send(ctx, declared({ dedupeKey: 'gives-up' }));
		const seen: number[] = [];
		for (let i = 0; i < 6; i++) {
			const [d] = await processDueDeliveries(ctx, { now });
			seen.push(d!.attempts);
			if (d!.status === 'pending') now = new Date(d!.next_attempt_at);
		}
		expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
		// 30 s + 2 min + 10 min + 30 min + 2 h after the first attempt.
		expect(now.toISOString()).toBe('2026-11-23T12:42:30.000Z');
		expect(await processDueDeliveries(ctx, { now: new Date('2026-11-24T00:00:00Z') })).toEqual([]);
		const view = await getChannel(ctx, admin, channelId);
		if (!view.ok) throw new Error(view.error.message);
		expect(view.value.channel.failed).toBe(1);
		expect(view.value.deliveries[0]).toMatchObject({ status: 'failed', attempts: 6, lastStatusCode: 503, lastResponse: 'maintenance' });
		const list = await listChannels(ctx, admin);
		if (!list.ok) throw new Error(list.error.message);
		expect(list.value.recentFailures.map((f) => f.channelName)).toContain('down');

		// An admin can give it a fresh set of attempts once the receiver is back.
		sink.respond(() => ({ status: 200, body: 'ok' }));
		const retried = await retryDelivery(ctx, admin, view.value.deliveries[0]!.id);
		expect(retried.ok && retried.value.status).toBe('pending');
		ctx.setNow(null);
		const [again] = await processDueDeliveries(ctx, { now: new Date(Date.now() + 1000) });
		expect(again).toMatchObject({ status: 'sent', attempts: 1 });
	});

	it('fails a delivery at once on a client error such as 404 (retrying cannot fix a wrong URL)', async () => {
		sink.respond(() => ({ status: 404, body: 'no such hook' }));
		await channel({ kind: 'teams', name: 'moved', url: `${sink.base}/moved` });
		await send(ctx, declared());
		const [d] = await processDueDeliveries(ctx);
		expect(d).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 404, last_response: 'no such hook' });
	});

	it('treats a robot refusal inside HTTP 200 as a failure and retries it', async () => {
		sink.respond(() => ({ status: 200, body: '{"errcode":310000,"errmsg":"sign not match"}' }));
		await channel({ kind: 'dingtalk', name: 'bad sign', url: `${sink.base}/dingtalk?access_token=x`, secret: 'SECwrong' });
		await send(ctx, declared());
		const [d] = await processDueDeliveries(ctx);
		expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 200, last_error: 'robot error 310000: sign not match' });
	});

	it('tells the channels about a declaration even when the declaring manager is its only member (nobody to tell in the app)', async () => {
		const id = await channel({ kind: 'webhook', name: 'SOC webhook', url: `${sink.base}/webhook`, secret: 'whsec-0123456789abcdef' });
		const manager = await makeUser(ctx, { role: 'manager', displayName: 'Wang Li' });
		ctx.notify = new Notifier(ctx);
		try {
			const r = await declareIncident(ctx, manager.actor, { title: 'Core banking down', impact: 'extensive', urgency: 'critical' });
			if (!r.ok) throw new Error(r.error.message);
			const incidentId = r.value.incident.id;
			const rows = await ctx.db.selectFrom('notification_deliveries').selectAll().where('incident_id', '=', incidentId).execute();
			expect(rows.map((d) => [d.channel_id, d.event, d.status])).toEqual([[id, 'incident.declared', 'pending']]);
			// …and nobody got an in-app notification for it (the declarer already knows).
			const inApp = await ctx.db.selectFrom('notifications').select('id').where('incident_id', '=', incidentId).execute();
			expect(inApp).toEqual([]);
		} finally {
			ctx.notify = undefined;
		}
	});

	it('never lets a dead or hanging channel block or slow send, nor hold up a healthy channel', async () => {
		sink.respond((req) => (req.url.startsWith('/hang') ? 'hang' : { status: 200, body: 'ok' }));
		await channel({ kind: 'webhook', name: 'hangs', url: `${sink.base}/hang`, secret: 'whsec-0123456789abcdef' });
		await channel({ kind: 'slack', name: 'refuses', url: `http://127.0.0.1:${await closedPort()}/nothing-listens-here` });
		await channel({ kind: 'slack', name: 'healthy', url: `${sink.base}/healthy` });

		const worker = new DeliveryWorker(ctx, { intervalMs: 50, timeoutMs: 400 });
		const notifier = new Notifier(ctx, worker);
		worker.start();
		try {
			const started = performance.now();
			await notifier.send(declared({ dedupeKey: 'dead-channel' }));
			const took = performance.now() - started;
			expect(took).toBeLessThan(1_000);
			// The healthy channel gets its message while the hanging one is still waiting.
			await sink.waitFor(2);
			expect(sink.requests.map((r) => r.url).sort()).toEqual(['/hang', '/healthy']);
			// Give the timeout (400 ms) time to pass.
			const until = Date.now() + 5_000;
			let rows = await repo.listDeliveries(ctx.db, { limit: 10 });
			while (rows.some((r) => r.attempts === 0) && Date.now() < until) {
				await new Promise((r) => setTimeout(r, 50));
				rows = await repo.listDeliveries(ctx.db, { limit: 10 });
			}
			const byName = new Map<string, (typeof rows)[number]>();
			const channels = await repo.listChannels(ctx.db);
			for (const r of rows) byName.set(channels.find((c) => c.id === r.channel_id)!.name, r);
			expect(byName.get('healthy')).toMatchObject({ status: 'sent', attempts: 1 });
			expect(byName.get('hangs')).toMatchObject({ status: 'pending', attempts: 1, last_error: 'timed out', last_status_code: null });
			expect(byName.get('refuses')).toMatchObject({ status: 'pending', attempts: 1, last_status_code: null });
			expect(byName.get('refuses')!.last_error).toMatch(/ECONNREFUSED/);
		} finally {
			await worker.stop();
		}
	});

	it('posts each delivery once when two workers drain the queue side by side', async () => {
		for (let i = 0; i < 5; i++) await channel({ kind: 'slack', name: `parallel ${i}`, url: `${sink.base}/p${i}` });
		await send(ctx, declared());
		const [a, b] = await Promise.all([processDueDeliveries(ctx), processDueDeliveries(ctx)]);
		expect(a.length + b.length).toBe(5);
		expect(new Set([...a, ...b].map((d) => d.id)).size).toBe(5);
		expect(sink.requests.map((r) => r.url).sort()).toEqual(['/p0', '/p1', '/p2', '/p3', '/p4']);
	});

	it('sends once for a repeated dedupe key, in-app and outbound', async () => {
		await channel({ kind: 'wecom', name: 'dedupe', url: `${sink.base}/wecom?key=d` });
		const first = await send(ctx, declared({ dedupeKey: 'reminder:inc-1:member-7:1' }));
		const second = await send(ctx, declared({ dedupeKey: 'reminder:inc-1:member-7:1' }));
		expect(first.notifications).toHaveLength(1);
		expect(first.deliveries).toHaveLength(1);
		expect(second).toEqual({ notifications: [], deliveries: [] });
		await processDueDeliveries(ctx);
		await processDueDeliveries(ctx);
		expect(sink.requests).toHaveLength(1);
		const mine = await ctx.db
			.selectFrom('notifications')
			.select('id')
			.where('user_id', '=', responder.id)
			.where('dedupe_key', '=', 'reminder:inc-1:member-7:1')
			.execute();
		expect(mine).toHaveLength(1);
	});

	it('sends only a neutral notice for a restricted incident, while members still see it in the app', async () => {
		await channel({ kind: 'webhook', name: 'restricted hook', url: `${sink.base}/r`, secret: 'whsec-0123456789abcdef', events: ['*'] });
		await channel({
			kind: 'email',
			name: 'restricted mail',
			host: smtp.host,
			port: String(smtp.port),
			security: 'none',
			from: 'warroom@bank.cn',
			to: 'ops@bank.cn',
			events: ['*']
		});
		const secret = declared({
			incidentId: 'inc-secret',
			restricted: true,
			title: { 'zh-CN': '疑似勒索软件入侵 网银核心', en: 'Suspected ransomware in online banking core' },
			body: { 'zh-CN': '攻击者已加密 10.2.3.4 上的文件', en: 'Attacker encrypted files on 10.2.3.4' },
			link: '/incidents/inc-secret'
		});
		const { notifications } = await send(ctx, secret);
		await processDueDeliveries(ctx);
		const hook = sink.requests[0]!;
		for (const leak of ['勒索', 'ransomware', '10.2.3.4', 'inc-secret']) {
			expect(hook.body).not.toContain(leak);
			expect(smtp.messages[0]!.data).not.toContain(leak);
			expect(parseMail(smtp.messages[0]!.data).text).not.toContain(leak);
		}
		expect(JSON.parse(hook.body)).toMatchObject({
			restricted: true,
			incidentId: null,
			title: '有一个受限事件需要您关注',
			url: `${ORIGIN}/notifications`
		});
		expect(decodeHeader(parseMail(smtp.messages[0]!.data).headers.subject!)).toBe('有一个受限事件需要您关注');
		const stored = await repo.listDeliveries(ctx.db, { limit: 5 });
		expect(stored.every((d) => d.incident_id === null && !JSON.stringify(d.payload).includes('勒索'))).toBe(true);
		// The recipient (a member) gets the full notification in the app.
		expect(notifications[0]).toMatchObject({ user_id: responder.id, title_zh: '疑似勒索软件入侵 网银核心', incident_id: 'inc-secret' });
	});

	it('routes by event: a channel gets only the events it subscribes to, "*" gets all, disabled gets none', async () => {
		const declaredOnly = await channel({ kind: 'slack', name: 'declared only', url: `${sink.base}/a`, events: ['incident.declared'] });
		const all = await channel({ kind: 'slack', name: 'everything', url: `${sink.base}/b`, events: ['*'] });
		await channel({ kind: 'slack', name: 'off', url: `${sink.base}/c`, events: ['*'], enabled: '' });
		const paged = await send(ctx, declared({ event: 'member.paged' }));
		expect(paged.deliveries.map((d) => d.channel_id)).toEqual([all]);
		const decl = await send(ctx, declared());
		expect(decl.deliveries.map((d) => d.channel_id).sort()).toEqual([declaredOnly, all].sort());
	});

	it('answers "Send test" with the receiver’s answer, also for a channel not yet enabled', async () => {
		sink.respond(() => ({ status: 200, body: 'ok' }));
		const id = await channel({ kind: 'slack', name: 'new', url: `${sink.base}/t`, enabled: '' });
		const r = await sendTest(ctx, admin, id);
		expect(r.ok && r.value).toMatchObject({ status: 'sent', lastStatusCode: 200, lastResponse: 'ok', event: 'channel.test' });
		expect(JSON.parse(sink.requests[0]!.body).blocks[0].text.text).toBe('Warroom 测试消息');

		sink.respond(() => ({ status: 500, body: 'boom' }));
		const failed = await sendTest(ctx, admin, id);
		expect(failed.ok && failed.value).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 500, lastResponse: 'boom' });
	});

	it('lets only admins see or change channels', async () => {
		const id = await channel({ kind: 'slack', name: 'guarded', url: `${sink.base}/g` });
		for (const r of [
			await listChannels(ctx, responder.actor),
			await getChannel(ctx, responder.actor, id),
			await saveChannel(ctx, responder.actor, { input: { name: 'x', kind: 'slack', url: 'https://x.test', events: ['*'] } }),
			await sendTest(ctx, responder.actor, id)
		]) {
			expect(r.ok).toBe(false);
			if (!r.ok) expect(r.error.code).toBe('forbidden');
		}
	});

	it('reports each bad field with its reason', async () => {
		const r = await saveChannel(ctx, admin, {
			input: { name: '', kind: 'webhook', url: 'ftp://files.bank.cn/x', secret: 'short', events: [''] }
		});
		if (r.ok || !r.error.errors) throw new Error('expected field errors');
		expect(Object.fromEntries(r.error.errors.map((e) => [e.field, e.code]))).toEqual({
			name: 'required',
			url: 'invalid_scheme',
			secret: 'too_short',
			events: 'required'
		});

		const mail = await saveChannel(ctx, admin, {
			input: {
				name: 'm',
				kind: 'email',
				host: 'smtp bank',
				port: '99999',
				from: 'nobody',
				to: 'ops@bank.cn, not-an-address',
				events: ['nope.event']
			}
		});
		if (mail.ok || !mail.error.errors) throw new Error('expected field errors');
		expect(Object.fromEntries(mail.error.errors.map((e) => [e.field, e.code]))).toEqual({
			host: 'invalid_format',
			port: 'out_of_range',
			from: 'invalid_email',
			to: 'invalid_email',
			events: 'invalid_value'
		});
	});

	it('keeps secrets on the server: the views show masked values and an empty field keeps the stored secret', async () => {
		const id = await channel({
			kind: 'dingtalk',
			name: 'secretive',
			url: `${sink.base}/dingtalk/robot/send?access_token=TOKEN-abcdef123456`,
			secret: 'SECverysecretvalue9876'
		});
		const emailId = await channel({
			kind: 'email',
			name: 'mail',
			host: 'smtp.bank.cn',
			port: '587',
			security: 'starttls',
			username: 'warroom',
			password: 'smtp-password-1',
			from: 'warroom@bank.cn',
			to: 'ops@bank.cn'
		});
		const list = await listChannels(ctx, admin);
		const json = JSON.stringify(list);
		for (const s of ['TOKEN-abcdef', 'SECverysecretvalue', 'smtp-password-1']) expect(json).not.toContain(s);
		const view = await getChannel(ctx, admin, id);
		expect(view.ok && view.value.channel.settings.secret).toBe('••••••••9876');

		// Saving with empty secret and URL fields keeps both.
		const saved = await saveChannel(ctx, admin, {
			id,
			input: { name: 'renamed', locale: 'en', enabled: 'on', events: ['*'], url: '', secret: '' }
		});
		expect(saved.ok).toBe(true);
		const stored = await repo.findChannel(ctx.db, id);
		expect(stored?.config).toEqual({
			url: `${sink.base}/dingtalk/robot/send?access_token=TOKEN-abcdef123456`,
			secret: 'SECverysecretvalue9876'
		});
		const mailSaved = await saveChannel(ctx, admin, {
			id: emailId,
			input: {
				name: 'mail',
				events: ['*'],
				enabled: 'on',
				host: 'smtp.bank.cn',
				from: 'warroom@bank.cn',
				to: 'ops@bank.cn',
				username: 'warroom',
				password: ''
			}
		});
		expect(mailSaved.ok).toBe(true);
		expect((await repo.findChannel(ctx.db, emailId))?.config).toMatchObject({ password: 'smtp-password-1' });
		// Nor does the audit log keep them.
		const auditRows = await ctx.db
			.selectFrom('audit_events')
			.select(['after', 'before'])
			.where('subject_type', '=', 'notification_channel')
			.execute();
		expect(auditRows.length).toBeGreaterThan(0);
		expect(JSON.stringify(auditRows)).not.toMatch(/TOKEN-abcdef|SECverysecretvalue|smtp-password-1/);
	});
});
