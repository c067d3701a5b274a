import { describe, expect, it } from 'vitest';
import {
	dingtalkRequest,
	emailFor,
	feishuRequest,
	judgeResponse,
	slackRequest,
	teamsRequest,
	truncateBytes,
	webhookRequest,
	wecomRequest,
	WECOM_MAX_BYTES,
	type OutboundMessage
} from './format';
import { dingtalkSign, feishuSign, webhookSignature } from './sign';

const now = new Date('2026-11-23T08:00:00.000Z');
const message: OutboundMessage = {
	event: 'incident.declared',
	locale: 'zh-CN',
	title: 'P1 核心银行系统性能下降',
	body: '影响：柜面与网银交易超时。\n当前状态：调查中',
	url: 'https://warroom.bank.cn/incidents/abc',
	incidentId: 'abc',
	restricted: false,
	openLabel: '在 Warroom 中查看'
};

describe('outbound formats', () => {
	it('builds the generic webhook body and signs exactly those bytes', () => {
		const req = webhookRequest({
			config: { url: 'https://hooks.bank.cn/warroom', secret: 'whsec-0123456789abcdef' },
			message,
			deliveryId: 'd-1',
			now
		});
		expect(JSON.parse(req.body)).toEqual({
			id: 'd-1',
			event: 'incident.declared',
			sentAt: '2026-11-23T08:00:00.000Z',
			locale: 'zh-CN',
			restricted: false,
			incidentId: 'abc',
			title: message.title,
			body: message.body,
			url: message.url
		});
		expect(req.headers['x-warroom-signature']).toBe(webhookSignature('whsec-0123456789abcdef', req.body));
		expect(req.headers['x-warroom-timestamp']).toBe(String(now.getTime() / 1000));
		expect(req.headers['x-warroom-delivery']).toBe('d-1');
		expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
	});

	it('sends WeCom a markdown message with the title in bold and the link', () => {
		const req = wecomRequest({ config: { url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k' }, message });
		expect(JSON.parse(req.body)).toEqual({
			msgtype: 'markdown',
			markdown: { content: `**${message.title}**\n${message.body}\n[${message.openLabel}](${message.url})` }
		});
		expect(req.url).toBe('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k');
	});

	it('keeps WeCom content within 4096 UTF-8 bytes however long the body is', () => {
		const req = wecomRequest({ config: { url: 'https://x.test/' }, message: { ...message, body: '故障'.repeat(3000) } });
		const content = (JSON.parse(req.body) as { markdown: { content: string } }).markdown.content;
		expect(new TextEncoder().encode(content).length).toBeLessThanOrEqual(WECOM_MAX_BYTES);
		expect(content.endsWith(`[${message.openLabel}](${message.url})`)).toBe(true);
	});

	it('sends DingTalk markdown with a title and signs the URL with timestamp and sign when a secret is set', () => {
		const req = dingtalkRequest({
			config: { url: 'https://oapi.dingtalk.com/robot/send?access_token=t0k', secret: 'SECxyz' },
			message,
			now
		});
		expect(req.url).toBe(
			`https://oapi.dingtalk.com/robot/send?access_token=t0k&timestamp=${now.getTime()}&sign=${dingtalkSign('SECxyz', now.getTime())}`
		);
		const body = JSON.parse(req.body) as { msgtype: string; markdown: { title: string; text: string } };
		expect(body.msgtype).toBe('markdown');
		expect(body.markdown.title).toBe(message.title);
		expect(body.markdown.text).toBe(
			`#### ${message.title}\n\n影响：柜面与网银交易超时。\n\n当前状态：调查中\n\n[${message.openLabel}](${message.url})`
		);
	});

	it('leaves the DingTalk URL alone without a secret', () => {
		expect(dingtalkRequest({ config: { url: 'https://oapi.dingtalk.com/robot/send?access_token=t0k' }, message, now }).url).toBe(
			'https://oapi.dingtalk.com/robot/send?access_token=t0k'
		);
	});

	it('sends Feishu a post message in the channel language, with timestamp (seconds) and sign in the body', () => {
		const req = feishuRequest({ config: { url: 'https://open.feishu.cn/open-apis/bot/v2/hook/h00k', secret: 'fsec' }, message, now });
		const ts = Math.floor(now.getTime() / 1000);
		expect(JSON.parse(req.body)).toEqual({
			timestamp: String(ts),
			sign: feishuSign('fsec', ts),
			msg_type: 'post',
			content: {
				post: {
					zh_cn: {
						title: message.title,
						content: [
							[{ tag: 'text', text: '影响：柜面与网银交易超时。' }],
							[{ tag: 'text', text: '当前状态：调查中' }],
							[{ tag: 'a', text: message.openLabel, href: message.url }]
						]
					}
				}
			}
		});
	});

	it('uses en_us for an English Feishu channel', () => {
		const req = feishuRequest({ config: { url: 'https://open.feishu.cn/x' }, message: { ...message, locale: 'en' }, now });
		expect(Object.keys((JSON.parse(req.body) as { content: { post: object } }).content.post)).toEqual(['en_us']);
	});

	it('sends Slack a fallback text plus header and section blocks, escaping Slack markup', () => {
		const req = slackRequest({
			config: { url: 'https://hooks.slack.com/services/T/B/X' },
			message: { ...message, body: 'a <!channel> & b' }
		});
		expect(JSON.parse(req.body)).toEqual({
			text: `${message.title}\na &lt;!channel&gt; &amp; b`,
			blocks: [
				{ type: 'header', text: { type: 'plain_text', text: message.title, emoji: true } },
				{ type: 'section', text: { type: 'mrkdwn', text: `a &lt;!channel&gt; &amp; b\n<${message.url}|${message.openLabel}>` } }
			]
		});
	});

	it('sends Teams a message with one Adaptive Card attachment', () => {
		const req = teamsRequest({ config: { url: 'https://bank.webhook.office.com/webhookb2/x' }, message });
		const body = JSON.parse(req.body) as {
			type: string;
			attachments: { contentType: string; contentUrl: null; content: Record<string, unknown> }[];
		};
		expect(body.type).toBe('message');
		expect(body.attachments).toHaveLength(1);
		expect(body.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
		expect(body.attachments[0]!.content).toEqual({
			$schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
			type: 'AdaptiveCard',
			version: '1.4',
			body: [
				{ type: 'TextBlock', text: message.title, weight: 'Bolder', size: 'Medium', wrap: true },
				{ type: 'TextBlock', text: message.body, wrap: true }
			],
			actions: [{ type: 'Action.OpenUrl', title: message.openLabel, url: message.url }]
		});
	});

	it('leaves the link out everywhere when there is no public address', () => {
		const bare = { ...message, url: null };
		const cfg = { url: 'https://x.test/' };
		expect(wecomRequest({ config: cfg, message: bare }).body).not.toContain('](');
		expect(teamsRequest({ config: cfg, message: bare }).body).not.toContain('Action.OpenUrl');
		expect(emailFor({ config: { host: 'h', port: 25, security: 'none', from: 'a@b.cn', to: ['c@d.cn'] }, message: bare }).text).toBe(
			`${message.body}\n`
		);
	});

	it('writes the e-mail subject and text in the channel language with the link', () => {
		const mail = emailFor({ config: { host: 'h', port: 25, security: 'none', from: 'warroom@bank.cn', to: ['ops@bank.cn'] }, message });
		expect(mail).toEqual({
			from: 'warroom@bank.cn',
			to: ['ops@bank.cn'],
			subject: message.title,
			text: `${message.body}\n\n${message.openLabel}: ${message.url}\n`
		});
	});
});

describe('judging answers', () => {
	it('treats a 2xx as success for webhooks, Slack and Teams', () => {
		expect(judgeResponse('webhook', 204, '').ok).toBe(true);
		expect(judgeResponse('slack', 200, 'ok').ok).toBe(true);
		expect(judgeResponse('teams', 202, '').ok).toBe(true);
	});

	it('treats a robot errcode as failure even with HTTP 200', () => {
		expect(judgeResponse('dingtalk', 200, '{"errcode":310000,"errmsg":"sign not match"}')).toEqual({
			ok: false,
			retryable: true,
			error: 'robot error 310000: sign not match'
		});
		expect(judgeResponse('wecom', 200, '{"errcode":0,"errmsg":"ok"}').ok).toBe(true);
		expect(judgeResponse('feishu', 200, '{"code":19021,"msg":"sign match fail"}').ok).toBe(false);
		expect(judgeResponse('feishu', 200, '{"StatusCode":0,"StatusMessage":"success"}').ok).toBe(true);
	});

	it('does not retry a 404 but retries a 503', () => {
		expect(judgeResponse('webhook', 404, 'no')).toMatchObject({ ok: false, retryable: false });
		expect(judgeResponse('webhook', 503, 'busy')).toMatchObject({ ok: false, retryable: true });
	});
});

describe('truncation', () => {
	it('never splits a character when cutting to a byte budget', () => {
		const cut = truncateBytes('一二三四五', 10);
		expect(cut).toBe('一二…');
		expect(new TextEncoder().encode(cut).length).toBeLessThanOrEqual(10);
	});
});
