import { describe, expect, it } from 'vitest';
import {
	dingtalkRequest,
	emailFor,
	feishuRequest,
	inertMarkdown,
	judgeResponse,
	oneLine,
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

const WJ = '\u2060';
const cfg = { url: 'https://x.test/' };
/** Markdown that would be a link or image, raw HTML/autolink/mention, or an entity, in CommonMark. */
const INLINE_MARKUP = /\]\s*[([:]|<[A-Za-z/!?@]|&(#|[A-Za-z][A-Za-z0-9]*;)/;
/** A line that would start a block (heading, quote, list, rule, setext underline, fence, table, HTML, code). */
const BLOCK_LINE = /^(?:[ \t]*(?:[#>*+\-=_~`|<[!]|\d{1,9}[.)])| {4}|\t)/m;
const HOSTILE_BODY = [
	'[Reset your password](https://evil.example/login) ![x](https://evil.example/p.png) [ref]: https://evil.example',
	'# URGENT: wire the money',
	'Fake heading',
	'===',
	'> quoted',
	'- item',
	'1. item',
	'```',
	'    indented code',
	'| a | b |',
	'<font color="warning">red</font> <script>alert(1)</script> <@all> <at>everyone</at> <https://evil.example>',
	'&lt;script&gt; &#91;x&#93;&#40;https://evil.example&#41; @all @所有人',
	'',
	'[Open in Warroom](https://evil.example/phish)'
].join('\n');

describe('people’s text in Markdown-rendering receivers', () => {
	it('leaves ordinary text unchanged', () => {
		for (const t of ['柜面与网银交易超时。', 'R&D < 5 ms, a > b, [P1], see above (10:30)', 'Restart DB-01 (10:30) → ok', message.body])
			expect(inertMarkdown(t)).toBe(t);
	});

	it('breaks links, images, HTML, mentions, entities and line-start blocks, and keeps the text', () => {
		const out = inertMarkdown(HOSTILE_BODY);
		expect(out).not.toMatch(INLINE_MARKUP);
		expect(out).not.toMatch(BLOCK_LINE);
		expect(out.split(WJ).join('')).toBe(HOSTILE_BODY);
		expect(out.split('\n')[0]).toBe(
			`${WJ}[Reset your password]${WJ}(https://evil.example/login) ![x]${WJ}(https://evil.example/p.png) [ref]${WJ}: https://evil.example`
		);
		expect(out.split('\n')[1]).toBe(`${WJ}# URGENT: wire the money`);
		expect(out).toContain(`<${WJ}@all> <${WJ}at>everyone<${WJ}/at>`);
	});

	it('treats a link split over two lines and Unicode line separators like the rest', () => {
		expect(inertMarkdown('see [a]\n(https://evil.example)')).toBe(`see [a]${WJ}\n(https://evil.example)`);
		expect(inertMarkdown('a\u2028# b\u2029> c')).toBe(`a\n${WJ}# b\n${WJ}> c`);
	});

	it('writes a title on one line, without control characters', () => {
		expect(oneLine('P1\r\nBcc: victim@evil.example\nSubject: x\u2028y\u0007\u001b[31m')).toBe(
			'P1 Bcc: victim@evil.example Subject: x y[31m'
		);
	});

	it('keeps WeCom, DingTalk and Teams messages to our own heading and link', () => {
		const evil = { ...message, title: '[t](https://evil.example) <@all>\n# h', body: HOSTILE_BODY };
		const wecom = (JSON.parse(wecomRequest({ config: cfg, message: evil }).body) as { markdown: { content: string } }).markdown.content;
		const lines = wecom.split('\n');
		expect(lines[0]).toBe(`**[t]${WJ}(https://evil.example) <${WJ}@all> # h**`);
		expect(lines.at(-1)).toBe(`[${message.openLabel}](${message.url})`);
		expect(lines.slice(0, -1).join('\n')).not.toMatch(INLINE_MARKUP);
		expect(lines.slice(1, -1).join('\n')).not.toMatch(BLOCK_LINE);

		const ding = JSON.parse(dingtalkRequest({ config: cfg, message: evil, now }).body) as { markdown: { title: string; text: string } };
		const dl = ding.markdown.text.split('\n');
		expect(ding.markdown.title).toBe('[t](https://evil.example) <@all> # h');
		expect(dl[0]).toBe(`#### [t]${WJ}(https://evil.example) <${WJ}@all> # h`);
		expect(dl.at(-1)).toBe(`[${message.openLabel}](${message.url})`);
		expect(dl.slice(0, -1).join('\n')).not.toMatch(INLINE_MARKUP);
		expect(dl.slice(1, -1).join('\n')).not.toMatch(BLOCK_LINE);
		expect(JSON.stringify(ding)).not.toMatch(/"(at|isAtAll|atMobiles)"/);

		const teams = JSON.parse(teamsRequest({ config: cfg, message: evil }).body) as {
			attachments: { content: { body: { text: string }[]; msteams?: unknown } }[];
		};
		const [title, body] = teams.attachments[0]!.content.body;
		expect(title!.text).toBe(`${WJ}[t]${WJ}(https://evil.example) <${WJ}@all> # h`);
		expect(body!.text).toBe(inertMarkdown(HOSTILE_BODY));
		expect(teams.attachments[0]!.content.msteams).toBeUndefined();
	});

	it('keeps Slack to its escapes: no link, mention or special command from the text', () => {
		const evil = { ...message, title: 'x\n<!channel>', body: '<!here> <@U012AB> <https://evil.example|click> &amp; a' };
		const req = JSON.parse(slackRequest({ config: cfg, message: evil }).body) as {
			text: string;
			blocks: { text: { type: string; text: string } }[];
		};
		expect(req.blocks[0]!.text).toEqual({ type: 'plain_text', text: 'x <!channel>', emoji: true });
		expect(req.blocks[1]!.text.text).toBe(
			`&lt;!here&gt; &lt;@U012AB&gt; &lt;https://evil.example|click&gt; &amp;amp; a\n<${message.url}|${message.openLabel}>`
		);
		expect(req.text).toBe('x &lt;!channel&gt;\n&lt;!here&gt; &lt;@U012AB&gt; &lt;https://evil.example|click&gt; &amp;amp; a');
	});

	it('gives Feishu plain text elements only, and the title on one line', () => {
		const evil = { ...message, title: 'a\r\nb', body: '<at user_id="all">所有人</at>\n[x](https://evil.example)' };
		const post = (
			JSON.parse(feishuRequest({ config: cfg, message: evil, now }).body) as {
				content: { post: { zh_cn: { title: string; content: { tag: string; text: string; href?: string }[][] } } };
			}
		).content.post.zh_cn;
		expect(post.title).toBe('a b');
		expect(post.content).toEqual([
			[{ tag: 'text', text: '<at user_id="all">所有人</at>' }],
			[{ tag: 'text', text: '[x](https://evil.example)' }],
			[{ tag: 'a', text: message.openLabel, href: message.url }]
		]);
	});

	it('never puts a line break into an e-mail subject', () => {
		const mail = emailFor({
			config: { host: 'h', port: 25, security: 'none', from: 'a@b.cn', to: ['c@d.cn'] },
			message: { ...message, title: 'P1\r\nBcc: victim@evil.example', body: 'line\r\n.\r\nMAIL FROM:<x@evil.example>' }
		});
		expect(mail.subject).toBe('P1 Bcc: victim@evil.example');
		// The body is the text as written: nodemailer base64-encodes it, so no line of it reaches SMTP as is.
		expect(mail.text).toBe(`line\r\n.\r\nMAIL FROM:<x@evil.example>\n\n${message.openLabel}: ${message.url}\n`);
	});

	it('sends the generic webhook the text as data, unchanged', () => {
		const evil = { ...message, title: 'a\r\n"}],{"x":1', body: HOSTILE_BODY };
		const req = webhookRequest({ config: { url: cfg.url, secret: 'whsec-0123456789abcdef' }, message: evil, deliveryId: 'd', now });
		expect(JSON.parse(req.body)).toMatchObject({ title: evil.title, body: HOSTILE_BODY });
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
