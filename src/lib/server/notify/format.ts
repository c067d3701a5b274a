/**
 * Outbound messages in each receiver's own format. Pure: the same message, settings and `now`
 * always give the same bytes, which is what the unit tests pin down.
 *
 * Formats (as each vendor documents its group robot / incoming webhook):
 * - generic webhook: our JSON, signed with `X-Warroom-Signature: sha256=<hex>` over the raw body;
 * - WeCom 企业微信: `{"msgtype":"markdown","markdown":{"content":…}}`, content ≤ 4096 bytes;
 * - DingTalk 钉钉: `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`, optional
 *   `&timestamp=<ms>&sign=<…>` on the URL;
 * - Feishu 飞书: `{"msg_type":"post","content":{"post":{"zh_cn":{title,content}}}}`, optional
 *   `timestamp` (seconds) and `sign` in the body;
 * - Slack: `{"text":fallback,"blocks":[header, section]}`;
 * - Microsoft Teams: a message with one Adaptive Card attachment.
 *
 * Titles and bodies carry people's text (incident titles, reasons, questions from head office). It
 * goes out as data: JSON-encoded for the webhook and Feishu's plain-text elements, Slack-escaped for
 * Slack, made inert for the receivers that render Markdown (`inertMarkdown`), and a title is one line
 * everywhere it becomes a heading or an e-mail subject (`oneLine`).
 */
import type { ChannelKind, EmailChannelConfig, HttpChannelConfig, HttpKind } from './channels';
import { dingtalkSign, feishuSign, webhookSignature } from './sign';
import { retryableStatus } from './backoff';

/** A delivery's message, already in the channel's language and already redacted if restricted. */
export interface OutboundMessage {
	event: string;
	locale: 'zh-CN' | 'en';
	title: string;
	body: string;
	/** Absolute link into the app, or null when the public origin is not configured. */
	url: string | null;
	/** Null for restricted incidents: not even the id leaves the building. */
	incidentId: string | null;
	restricted: boolean;
	/** The label of the link ("Open in Warroom"), in the channel's language. */
	openLabel: string;
}

export interface HttpRequestSpec {
	url: string;
	headers: Record<string, string>;
	body: string;
}

/** WeCom refuses markdown content over 4096 bytes. */
export const WECOM_MAX_BYTES = 4096;
/** DingTalk's markdown text limit is not documented tightly; 5000 characters stays well inside it. */
export const DINGTALK_MAX_CHARS = 5000;
/** Slack: header text ≤ 150 characters, section text ≤ 3000. */
export const SLACK_HEADER_MAX = 150;
export const SLACK_SECTION_MAX = 3000;
/** Feishu refuses bodies over 20 KB; the text is cut well below that. */
export const FEISHU_MAX_CHARS = 6000;
export const TEAMS_MAX_CHARS = 20_000;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

/** Cuts to at most `max` characters (whole code points), marking the cut with an ellipsis. */
export function truncateChars(s: string, max: number): string {
	const cps = Array.from(s);
	return cps.length <= max ? s : cps.slice(0, max - 1).join('') + '…';
}

/** Cuts to at most `max` UTF-8 bytes without splitting a character. */
export function truncateBytes(s: string, max: number): string {
	const enc = new TextEncoder();
	if (enc.encode(s).length <= max) return s;
	let out = '';
	let bytes = 0;
	const budget = max - 3; // the ellipsis is 3 bytes in UTF-8
	for (const ch of s) {
		const n = enc.encode(ch).length;
		if (bytes + n > budget) break;
		out += ch;
		bytes += n;
	}
	return out + '…';
}

/** U+2060 WORD JOINER: invisible and not whitespace, so it stops a Markdown construct from forming. */
const WORD_JOINER = '\u2060';

/** A line that Markdown would read as a block (heading, quote, list, rule, setext underline, fence, table, HTML, code). */
const BLOCK_START = /^(?:[ \t]*(?:[#>*+\-=_~`|<[!]|\d{1,9}[.)])| {4}|\t)/;

/**
 * People's text for a receiver that renders Markdown (WeCom and DingTalk robots, Teams TextBlocks),
 * kept as text: it cannot add a link or image (`](`, `][`, `]:`), an HTML tag, autolink or mention
 * (`<font>`, `<http://…>`, `<@all>`, `<at>`), an entity that decodes to markup, or a block — a
 * heading, quote, list or setext underline that would pass for our own heading or link line.
 *
 * A word joiner goes where it breaks the construct, rather than backslashes or entities: the
 * robots' renderers are not CommonMark and are not documented to honour either (`\[x\](u)` is
 * still a link where backslashes are not escapes, and an entity the renderer does not decode shows
 * as `&lt;`), while a word joiner is invisible and no parser joins across it. Text without such
 * constructs comes out unchanged, and removing the word joiners gives back the original (with its
 * line breaks, U+2028 and U+2029 included, as `\n`). A bare address (`https://…`) stays visible text; a receiver may still make
 * it clickable, but it cannot hide it behind other words.
 */
export function inertMarkdown(s: string): string {
	return (
		s
			// U+2028/2029/0085 end a line for some renderers (a JavaScript `^` with the m flag): lines too.
			.split(/\r\n|[\r\n\u2028\u2029\u0085]/)
			.map((line) => inertInline(BLOCK_START.test(line) ? WORD_JOINER + line : line))
			.join('\n')
	);
}

/** `inertMarkdown` for one line inside our own markup (after `#### `, between `**`): no block can start there. */
function inertInline(line: string): string {
	return (
		line
			// Also a `]` ending the line: a lenient renderer may join it to a `(` or `[` on the next one.
			.replace(/\](?=\s*(?:[([:]|$))/g, ']' + WORD_JOINER)
			.replace(/<(?=[A-Za-z/!?@])/g, '<' + WORD_JOINER)
			.replace(/&(?=#|[A-Za-z][A-Za-z0-9]*;)/g, '&' + WORD_JOINER)
	);
}

/** A title or subject on one line: line breaks become spaces, other control characters are dropped. */
export function oneLine(s: string): string {
	return (
		s
			.replace(/\r\n|[\r\n\u0085\u2028\u2029\v\f]/g, ' ')
			// eslint-disable-next-line no-control-regex -- removing control characters is the point
			.replace(/[\u0000-\u0008\u000E-\u001F\u007F-\u009F]/g, '')
	);
}

function appendQuery(url: string, query: string): string {
	const hashAt = url.indexOf('#');
	const base = hashAt >= 0 ? url.slice(0, hashAt) : url;
	return base + (base.includes('?') ? '&' : '?') + query;
}

export function webhookRequest(opts: {
	config: HttpChannelConfig;
	message: OutboundMessage;
	deliveryId: string;
	now: Date;
}): HttpRequestSpec {
	const { message: m, now } = opts;
	// sentAt inside the signed body lets a receiver refuse replays of an old, validly signed body.
	const body = JSON.stringify({
		id: opts.deliveryId,
		event: m.event,
		sentAt: now.toISOString(),
		locale: m.locale,
		restricted: m.restricted,
		incidentId: m.incidentId,
		title: m.title,
		body: m.body,
		url: m.url
	});
	const headers: Record<string, string> = {
		...JSON_HEADERS,
		'x-warroom-event': m.event,
		'x-warroom-delivery': opts.deliveryId,
		'x-warroom-timestamp': String(Math.floor(now.getTime() / 1000))
	};
	if (opts.config.secret) headers['x-warroom-signature'] = webhookSignature(opts.config.secret, body);
	return { url: opts.config.url, headers, body };
}

export function wecomRequest(opts: { config: HttpChannelConfig; message: OutboundMessage }): HttpRequestSpec {
	const m = opts.message;
	const link = m.url ? `\n[${m.openLabel}](${m.url})` : '';
	const head = `**${inertInline(oneLine(m.title))}**\n`;
	const enc = new TextEncoder();
	const room = WECOM_MAX_BYTES - enc.encode(head).length - enc.encode(link).length;
	const content = head + truncateBytes(inertMarkdown(m.body), Math.max(room, 16)) + link;
	return { url: opts.config.url, headers: { ...JSON_HEADERS }, body: JSON.stringify({ msgtype: 'markdown', markdown: { content } }) };
}

export function dingtalkRequest(opts: { config: HttpChannelConfig; message: OutboundMessage; now: Date }): HttpRequestSpec {
	const m = opts.message;
	const title = oneLine(m.title);
	// DingTalk markdown needs a blank line between paragraphs; single newlines are joined.
	const paragraphs = inertMarkdown(m.body).split('\n').join('\n\n');
	const text = truncateChars(
		`#### ${inertInline(title)}\n\n${paragraphs}${m.url ? `\n\n[${m.openLabel}](${m.url})` : ''}`,
		DINGTALK_MAX_CHARS
	);
	let url = opts.config.url;
	if (opts.config.secret) {
		const ts = opts.now.getTime();
		url = appendQuery(url, `timestamp=${ts}&sign=${dingtalkSign(opts.config.secret, ts)}`);
	}
	return { url, headers: { ...JSON_HEADERS }, body: JSON.stringify({ msgtype: 'markdown', markdown: { title, text } }) };
}

export function feishuRequest(opts: { config: HttpChannelConfig; message: OutboundMessage; now: Date }): HttpRequestSpec {
	const m = opts.message;
	const lines = truncateChars(m.body, FEISHU_MAX_CHARS).split(/\r?\n/);
	const content: { tag: string; text: string; href?: string }[][] = lines.map((line) => [{ tag: 'text', text: line }]);
	if (m.url) content.push([{ tag: 'a', text: m.openLabel, href: m.url }]);
	// Feishu's `text` elements are plain text (mentions would be `at` elements, which we never send).
	const post = { [m.locale === 'zh-CN' ? 'zh_cn' : 'en_us']: { title: oneLine(m.title), content } };
	const payload: Record<string, unknown> = {};
	if (opts.config.secret) {
		const ts = Math.floor(opts.now.getTime() / 1000);
		payload.timestamp = String(ts);
		payload.sign = feishuSign(opts.config.secret, ts);
	}
	payload.msg_type = 'post';
	payload.content = { post };
	return { url: opts.config.url, headers: { ...JSON_HEADERS }, body: JSON.stringify(payload) };
}

/** Slack treats &, < and > as markup (`<!channel>` would ping everyone), so text is escaped. */
export function slackEscape(s: string): string {
	return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackRequest(opts: { config: HttpChannelConfig; message: OutboundMessage }): HttpRequestSpec {
	const m = opts.message;
	const link = m.url ? `\n<${m.url}|${slackEscape(m.openLabel)}>` : '';
	const section = truncateChars(slackEscape(m.body), SLACK_SECTION_MAX - link.length) + link;
	const title = oneLine(m.title);
	const body = {
		// The fallback shown in notifications and by clients that do not render blocks.
		text: slackEscape(`${title}\n${m.body}`),
		blocks: [
			{ type: 'header', text: { type: 'plain_text', text: truncateChars(title, SLACK_HEADER_MAX), emoji: true } },
			{ type: 'section', text: { type: 'mrkdwn', text: section } }
		]
	};
	return { url: opts.config.url, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

export function teamsRequest(opts: { config: HttpChannelConfig; message: OutboundMessage }): HttpRequestSpec {
	const m = opts.message;
	const card: Record<string, unknown> = {
		$schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
		type: 'AdaptiveCard',
		version: '1.4',
		// TextBlocks render a Markdown subset (links, lists, emphasis); mentions need `msteams.entities`, never sent.
		body: [
			{ type: 'TextBlock', text: inertMarkdown(oneLine(m.title)), weight: 'Bolder', size: 'Medium', wrap: true },
			{ type: 'TextBlock', text: truncateChars(inertMarkdown(m.body), TEAMS_MAX_CHARS), wrap: true }
		]
	};
	if (m.url) card.actions = [{ type: 'Action.OpenUrl', title: m.openLabel, url: m.url }];
	const body = {
		type: 'message',
		attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }]
	};
	return { url: opts.config.url, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

export function httpRequestFor(opts: {
	kind: HttpKind;
	config: HttpChannelConfig;
	message: OutboundMessage;
	deliveryId: string;
	now: Date;
}): HttpRequestSpec {
	switch (opts.kind) {
		case 'webhook':
			return webhookRequest(opts);
		case 'wecom':
			return wecomRequest(opts);
		case 'dingtalk':
			return dingtalkRequest(opts);
		case 'feishu':
			return feishuRequest(opts);
		case 'slack':
			return slackRequest(opts);
		case 'teams':
			return teamsRequest(opts);
	}
}

export interface ResponseVerdict {
	ok: boolean;
	/** Worth trying again later (only meaningful when not ok). */
	retryable: boolean;
	error?: string;
}

/**
 * Whether the receiver accepted the message. The Chinese robots answer HTTP 200 even when they
 * refuse (a bad signature, a keyword rule, a rate limit) and put the verdict in the JSON body, so
 * a 200 alone is not success for them.
 */
export function judgeResponse(kind: ChannelKind, status: number, body: string): ResponseVerdict {
	if (status < 200 || status >= 300) return { ok: false, retryable: retryableStatus(status), error: `HTTP ${status}` };
	if (kind === 'wecom' || kind === 'dingtalk' || kind === 'feishu') {
		let parsed: unknown;
		try {
			parsed = JSON.parse(body);
		} catch {
			return { ok: false, retryable: true, error: 'the robot answered with something that is not JSON' };
		}
		const o = (parsed ?? {}) as Record<string, unknown>;
		const code = kind === 'feishu' ? (o.code ?? o.StatusCode) : o.errcode;
		if (code !== undefined && code !== 0) {
			const msg = kind === 'feishu' ? (o.msg ?? o.StatusMessage) : o.errmsg;
			// Rate limits and signature clock skew clear up; a wrong token does not, but the
			// back-off keeps the cost of retrying it small and the log shows the robot's answer.
			return { ok: false, retryable: true, error: `robot error ${String(code)}: ${String(msg ?? '')}`.trim() };
		}
	}
	return { ok: true, retryable: false };
}

export interface EmailSpec {
	from: string;
	to: string[];
	subject: string;
	text: string;
}

/**
 * A plain-text e-mail (no HTML part, so nothing in it is markup). The subject is one line: nodemailer
 * folds and encodes headers and replaces line breaks too, but a header is no place to rely on one
 * layer for (a CR/LF there would start a new header such as Bcc:).
 */
export function emailFor(opts: { config: EmailChannelConfig; message: OutboundMessage }): EmailSpec {
	const m = opts.message;
	return {
		from: opts.config.from,
		to: opts.config.to,
		subject: oneLine(m.title),
		text: m.body + (m.url ? `\n\n${m.openLabel}: ${m.url}\n` : '\n')
	};
}
