/**
 * Hostile text in outbound notifications (issue 10): incidents proposed, declared, paged, moved on,
 * re-prioritised, asked about and given action items with hostile titles and texts, through the real
 * services; the real notifier and delivery worker post to local receivers (an HTTP sink for the
 * generic webhook and the five robots, an SMTP sink for e-mail), and the bytes that arrive are checked
 * against each receiver's rules:
 *
 * - webhook: valid JSON with exactly our fields, the text in them as data, a valid signature;
 * - WeCom, DingTalk and Teams (Markdown): nothing from the text reads as a link, image, HTML tag,
 *   autolink, mention, entity or block (heading, quote, list…); the only link is ours, no mention field;
 * - Feishu: plain `text` elements only, our one `a` element; Slack: every `<`, `>`, `&` of the text
 *   escaped, so no `<!channel>`, `<@U…>` or `<url|label>`;
 * - e-mail: one message to the configured recipients, a subject without CR/LF (no header injection),
 *   no extra headers, text/plain only;
 * - a restricted incident only ever sends the neutral notice.
 *
 * Text the services refuse (control characters, over-long values) counts as "a clear error". The same
 * payloads then go straight to the notifier, unvalidated, as a caller that forgot to check would send
 * them. Ends with a figures line.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor, NotifyInput } from '../../src/lib/server/context';
import messages from '../../src/lib/i18n/messages/notify';
import { Notifier } from '../../src/lib/server/notify/notifier';
import { DeliveryWorker } from '../../src/lib/server/notify/worker';
import { WECOM_MAX_BYTES } from '../../src/lib/server/notify/format';
import { createActionItem } from '../../src/lib/server/services/action-item.service';
import { requestUpdate } from '../../src/lib/server/services/escalation.service';
import {
	acceptProposal,
	changePriority,
	changeStatus,
	declareIncident,
	proposeIncident
} from '../../src/lib/server/services/incident.service';
import { addMember } from '../../src/lib/server/services/membership.service';
import { saveChannel, type ChannelInput } from '../../src/lib/server/services/notification.service';
import { createTestContext, makeUser, type TestContext } from '../helpers/context';
import {
	decodeHeader,
	parseMail,
	startHttpSink,
	startSmtpSink,
	type HttpSink,
	type SinkRequest,
	type SmtpSink
} from '../integration/notify-sinks';
import { Figures, isFull, pick } from './support/profile';

const figures = new Figures('abuse-notifications');
const ORIGIN = 'https://warroom.bank.test';
const WEBHOOK_SECRET = 'whsec-abuse-0123456789';
const MAIL_FROM = 'warroom@bank.test';
const MAIL_TO = ['ops@bank.test', 'duty@bank.test'];
const DRAIN_TIMEOUT_MS = 120_000;

const PAYLOADS: [string, string][] = [
	['Markdown link', '[Reset your password](https://evil.example/login)'],
	['image', '![logo](https://evil.example/pixel.png) [x][ref]'],
	['heading', '# URGENT: transfer the funds now'],
	['mentions', '@all @所有人 <@all> <!channel> <!here> <@U012ABC> <at>everyone</at> <at user_id="all">所有人</at>'],
	['HTML', '<font color="warning">red</font> <script>alert(1)</script> "><img src=x onerror=alert(1)>'],
	['autolink and entities', '<https://evil.example> &#91;x&#93;&#40;https://evil.example&#41; &lt;b&gt;'],
	['JSON break', '"}]},"isAtAll":true,"at":{"atMobiles":["1"]},"x":{"a":"'],
	['SQL', "'; DROP TABLE notification_deliveries;--"],
	['template braces', '{number} {{7*7}} ${title} {title, select, other {x}}'],
	['bidi and zero-width', '\u202Egnp.exe\u200B\uFEFF\u2060'],
	['line-start blocks', '# h1\n===\n> quote\n- item\n1. item\n```\n    code\n| a | b |\n[ref]: https://evil.example'],
	['fake link line', 'all fine\n\n[Open in Warroom](https://evil.example/phish)\n\n#### P1 declared'],
	['CRLF header injection', 'x\r\nBcc: victim@evil.example\r\nSubject: spoofed'],
	['SMTP smuggling', 'x\r\n.\r\nMAIL FROM:<a@evil.example>\r\nRCPT TO:<b@evil.example>\r\nDATA\r\n'],
	['control characters', 'a\u0000b\u0007c\u001b[31md'],
	['lone surrogate', 'a\uD800b'],
	['oversized', '#'.repeat(pick(3_000, 30_000))],
	...(isFull
		? ([
				['unicode line breaks', 'a\u2028# b\u2029> c\u0085d'],
				['long line of markup', '[x](https://evil.example)'.repeat(150)],
				['emoji', '🔥'.repeat(1000)],
				['whitespace only', ' \t\n '],
				['Slack link', '<https://evil.example|Open in Warroom> <!subteam^S1|@oncall>'],
				['nested brackets', '[[a](b)](https://evil.example) [a]\n(https://evil.example)']
			] as [string, string][])
		: [])
];

const CHANNELS: (ChannelInput & { kind: string; path: string })[] = [
	{ kind: 'webhook', name: 'webhook', path: '/webhook', locale: 'en', secret: WEBHOOK_SECRET },
	{ kind: 'wecom', name: 'wecom', path: '/wecom/send?key=k1', locale: 'zh-CN' },
	{ kind: 'dingtalk', name: 'dingtalk', path: '/dingtalk/robot/send?access_token=t1', locale: 'zh-CN', secret: 'SECding' },
	{ kind: 'feishu', name: 'feishu', path: '/feishu/hook/h1', locale: 'zh-CN', secret: 'feishu-secret' },
	{ kind: 'slack', name: 'slack', path: '/slack/T1/B1/x', locale: 'en' },
	{ kind: 'teams', name: 'teams', path: '/teams/hook', locale: 'en' },
	{ kind: 'email', name: 'email', path: '', locale: 'zh-CN' }
];

// ---------------------------------------------------------------------------------------------
// What counts as markup in a receiver that renders Markdown (CommonMark plus lenient renderers)
// ---------------------------------------------------------------------------------------------

/** A link or image (`](`, `] (`, `][`, `]:`), an HTML tag, autolink or mention (`<x`, `<@`, `<!`), an entity. */
const INLINE_MARKUP = /\]\s*[([:]|<[A-Za-z/!?@]|&(?:#|[A-Za-z][A-Za-z0-9]*;)/;
/** A line that starts a block: heading, quote, list, rule, setext underline, fence, table, HTML, indented code. */
const BLOCK_LINE = /^(?:[ \t]*(?:[#>*+\-=_~`|<[!]|\d{1,9}[.)])| {4}|\t)/m;
const ourLink = (label: string) => new RegExp(`^\\[${label}\\]\\(${ORIGIN.replace(/\./g, '\\.')}/[\\w/-]*\\)$`);

let ctx: TestContext;
let sink: HttpSink;
let smtp: SmtpSink;
let worker: DeliveryWorker;
let admin: Actor;
let manager: Actor;
let evilProposer: Actor;
let responder: { id: string; actor: Actor };
const injections: string[] = [];

function injected(label: string, what: string): void {
	injections.push(`${label}: ${what}`);
}

beforeAll(async () => {
	ctx = await createTestContext({ origin: ORIGIN });
	sink = await startHttpSink();
	sink.respond((req) =>
		req.url.startsWith('/wecom') || req.url.startsWith('/dingtalk')
			? { status: 200, body: '{"errcode":0,"errmsg":"ok"}' }
			: req.url.startsWith('/feishu')
				? { status: 200, body: '{"code":0,"msg":"success"}' }
				: { status: 200, body: 'ok', contentType: 'text/plain' }
	);
	smtp = await startSmtpSink();
	admin = (await makeUser(ctx, { role: 'admin' })).actor;
	manager = (await makeUser(ctx, { role: 'manager' })).actor;
	responder = await makeUser(ctx, { role: 'responder' });
	// Someone whose display name is itself hostile: it goes into "{actor} proposed: {title}".
	evilProposer = (await makeUser(ctx, { role: 'responder', displayName: '[Boss](https://evil.example) <@all> <!channel> # x' })).actor;
	for (const c of CHANNELS) {
		const { path, ...input } = c;
		const r = await saveChannel(ctx, admin, {
			input:
				c.kind === 'email'
					? {
							...input,
							host: smtp.host,
							port: String(smtp.port),
							security: 'none',
							from: MAIL_FROM,
							to: MAIL_TO.join(', '),
							enabled: 'on',
							events: ['*']
						}
					: { ...input, url: `${sink.base}${path}`, enabled: 'on', events: ['*'] }
		});
		if (!r.ok) throw new Error(`channel ${c.kind}: ${r.error.message}`);
	}
	// The real notifier and worker, as the app installs them (notify/module.ts), on a short tick.
	worker = new DeliveryWorker(ctx, { intervalMs: 250 });
	ctx.notify = new Notifier(ctx, worker);
	worker.start();
}, 60_000);

afterAll(async () => {
	await worker?.stop();
	await sink?.close();
	await smtp?.close();
	await ctx?.close();
	if (injections.length) process.stdout.write(`\n${injections.slice(0, 40).join('\n')}\n`);
	figures.print();
});

/** Waits until the worker has attempted every queued delivery; returns the ones that did not go out. */
async function drain(): Promise<{ id: string; status: string; last_error: string | null }[]> {
	const until = Date.now() + DRAIN_TIMEOUT_MS;
	for (;;) {
		const waiting = await ctx.db
			.selectFrom('notification_deliveries')
			.select((eb) => eb.fn.countAll<string>().as('n'))
			.where('status', '=', 'pending')
			.where('attempts', '=', 0)
			.executeTakeFirstOrThrow();
		if (Number(waiting.n) === 0) break;
		if (Date.now() > until) throw new Error(`${waiting.n} deliveries still queued after ${DRAIN_TIMEOUT_MS} ms`);
		await new Promise((r) => setTimeout(r, 100));
	}
	return ctx.db.selectFrom('notification_deliveries').select(['id', 'status', 'last_error']).where('status', '!=', 'sent').execute();
}

async function deliveryCount(): Promise<number> {
	const r = await ctx.db
		.selectFrom('notification_deliveries')
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.executeTakeFirstOrThrow();
	return Number(r.n);
}

// ---------------------------------------------------------------------------------------------
// The checks, one per receiver, on the bytes as they arrived
// ---------------------------------------------------------------------------------------------

function parseJson(label: string, raw: string): Record<string, unknown> | undefined {
	try {
		const v = JSON.parse(raw) as unknown;
		if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
		injected(label, 'the body is JSON but not an object');
	} catch {
		injected(label, `the body is not valid JSON: ${raw.slice(0, 80)}`);
	}
	return undefined;
}

function sameKeys(label: string, o: unknown, keys: string[]): void {
	const got = o && typeof o === 'object' ? Object.keys(o).sort() : [];
	if (JSON.stringify(got) !== JSON.stringify([...keys].sort())) injected(label, `fields ${got.join(',')} instead of ${keys.join(',')}`);
}

/** Markdown text of ours around people's text: `head` and the link line are ours, the rest must be inert. */
function markdownInert(label: string, opts: { title: string; lines: string[] }): void {
	if (/[\r\n]/.test(opts.title)) injected(label, 'a line break in the title');
	if (INLINE_MARKUP.test(opts.title)) injected(label, `markup in the title: ${opts.title.slice(0, 80)}`);
	const body = opts.lines.join('\n');
	const inline = INLINE_MARKUP.exec(body);
	if (inline) injected(label, `markup in the text: …${body.slice(Math.max(0, inline.index - 20), inline.index + 30)}…`);
	const block = BLOCK_LINE.exec(body);
	if (block) injected(label, `a block in the text: ${body.slice(block.index, block.index + 40)}`);
}

function checkWebhook(req: SinkRequest, label: string): Record<string, unknown> | undefined {
	const o = parseJson(label, req.body);
	if (!o) return undefined;
	sameKeys(label, o, ['id', 'event', 'sentAt', 'locale', 'restricted', 'incidentId', 'title', 'body', 'url']);
	if (typeof o.title !== 'string' || typeof o.body !== 'string') injected(label, 'title or body is not a string');
	const signature = 'sha256=' + createHmac('sha256', WEBHOOK_SECRET).update(req.raw).digest('hex');
	if (req.headers['x-warroom-signature'] !== signature) injected(label, 'the signature does not match the bytes');
	return o;
}

function checkWecom(req: SinkRequest, label: string): void {
	const o = parseJson(label, req.body);
	if (!o) return;
	sameKeys(label, o, ['msgtype', 'markdown']);
	sameKeys(label, o.markdown, ['content']);
	const content = String((o.markdown as { content?: unknown }).content);
	if (new TextEncoder().encode(content).length > WECOM_MAX_BYTES) injected(label, 'content over 4096 bytes');
	const lines = content.split('\n');
	const first = lines.shift()!;
	if (!first.startsWith('**') || !first.endsWith('**')) injected(label, `first line is not our bold title: ${first.slice(0, 60)}`);
	if (ourLink('[^\\]]+').test(lines.at(-1) ?? '')) lines.pop();
	markdownInert(label, { title: first.slice(2, -2), lines });
}

function checkDingtalk(req: SinkRequest, label: string): void {
	const o = parseJson(label, req.body);
	if (!o) return;
	// No `at` field: nobody is mentioned, whatever the text says.
	sameKeys(label, o, ['msgtype', 'markdown']);
	sameKeys(label, o.markdown, ['title', 'text']);
	const md = o.markdown as { title: string; text: string };
	if (/[\r\n]/.test(md.title)) injected(label, 'a line break in the message title');
	const lines = md.text.split('\n');
	const first = lines.shift()!;
	if (!first.startsWith('#### ')) injected(label, `first line is not our heading: ${first.slice(0, 60)}`);
	if (ourLink('[^\\]]+').test(lines.at(-1) ?? '')) lines.pop();
	markdownInert(label, { title: first.slice(5), lines });
}

function checkFeishu(req: SinkRequest, label: string): void {
	const o = parseJson(label, req.body);
	if (!o) return;
	sameKeys(label, o, ['timestamp', 'sign', 'msg_type', 'content']);
	const post = (o.content as { post?: Record<string, { title: string; content: Record<string, unknown>[][] }> }).post ?? {};
	for (const [lang, p] of Object.entries(post)) {
		sameKeys(label, p, ['title', 'content']);
		if (/[\r\n]/.test(p.title)) injected(label, `a line break in the ${lang} title`);
		const rows = [...p.content];
		const last = rows.at(-1);
		if (last?.length === 1 && last[0]!.tag === 'a') {
			rows.pop();
			if (!String(last[0]!.href).startsWith(ORIGIN + '/')) injected(label, `a link outside the app: ${String(last[0]!.href)}`);
		}
		for (const el of rows.flat()) {
			if (el.tag !== 'text') injected(label, `a ${String(el.tag)} element from the text`);
			sameKeys(label, el, ['tag', 'text']);
		}
	}
}

function checkSlack(req: SinkRequest, label: string): void {
	const o = parseJson(label, req.body);
	if (!o) return;
	sameKeys(label, o, ['text', 'blocks']);
	const blocks = o.blocks as { type: string; text: { type: string; text: string } }[];
	if (blocks.length !== 2 || blocks[0]!.type !== 'header' || blocks[1]!.type !== 'section') injected(label, 'unexpected blocks');
	if (blocks[0]!.text.type !== 'plain_text' || /[\r\n]/.test(blocks[0]!.text.text))
		injected(label, 'the header is not one line of plain text');
	const section = blocks[1]!.text.text.replace(new RegExp(`\\n<${ORIGIN.replace(/\./g, '\\.')}/[\\w/-]*\\|[^<>|]+>$`), '');
	for (const [part, t] of [
		['section', section],
		['fallback text', String(o.text)]
	] as const) {
		if (/[<>]/.test(t)) injected(label, `an unescaped < or > in the ${part}: ${t.slice(t.search(/[<>]/), t.search(/[<>]/) + 30)}`);
		if (/&(?!amp;|lt;|gt;)/.test(t)) injected(label, `an unescaped & in the ${part}`);
	}
}

function checkTeams(req: SinkRequest, label: string): void {
	const o = parseJson(label, req.body);
	if (!o) return;
	sameKeys(label, o, ['type', 'attachments']);
	const card = (o.attachments as { content: Record<string, unknown> }[])[0]!.content;
	if ('msteams' in card) injected(label, 'msteams (mention entities) in the card');
	const body = card.body as { type: string; text: string }[];
	if (body.length !== 2 || body.some((b) => b.type !== 'TextBlock')) injected(label, 'unexpected card elements');
	markdownInert(label, { title: '', lines: [body[0]!.text, ...body[1]!.text.split('\n')] });
	if (/[\r\n]/.test(body[0]!.text)) injected(label, 'a line break in the title block');
	for (const a of (card.actions ?? []) as { type: string; url: string }[])
		if (a.type !== 'Action.OpenUrl' || !a.url.startsWith(ORIGIN + '/')) injected(label, `an action outside the app: ${a.url}`);
}

function checkMail(data: string, rcpt: { from: string; to: string[] }, label: string): { subject: string; text: string } {
	if (rcpt.from !== MAIL_FROM || JSON.stringify(rcpt.to) !== JSON.stringify(MAIL_TO))
		injected(label, `envelope ${rcpt.from} → ${rcpt.to.join(',')}`);
	const mail = parseMail(data);
	const head = data.slice(0, data.indexOf('\r\n\r\n'));
	const names = head.split(/\r\n(?![ \t])/).map((l) => l.slice(0, l.indexOf(':')).trim().toLowerCase());
	for (const n of ['bcc', 'cc', 'reply-to']) if (names.includes(n)) injected(label, `a ${n} header`);
	for (const n of ['to', 'from']) if (names.filter((x) => x === n).length !== 1) injected(label, `${n} header not exactly once`);
	// A blank title leaves no Subject header at all (nodemailer drops an empty one): a second one would be injected.
	if (names.filter((x) => x === 'subject').length > 1) injected(label, 'more than one subject header');
	if (
		/[\r\n]/.test(
			head
				.replace(/\r\n[ \t]/g, ' ')
				.split('\r\n')
				.join('')
		)
	)
		injected(label, 'a bare CR or LF in the headers');
	const subject = decodeHeader(mail.headers.subject ?? '');
	if (/[\r\n]/.test(subject)) injected(label, 'a line break in the decoded subject');
	if (!/^text\/plain;/i.test(mail.headers['content-type'] ?? '')) injected(label, `content-type ${mail.headers['content-type']}`);
	return { subject, text: mail.text };
}

/** Checks everything that arrived since the last call; returns what the webhook and e-mail carried. */
function checkArrivals(tag: string): {
	webhook: Record<string, unknown>[];
	mail: { subject: string; text: string }[];
	n: number;
	perChannel: string;
} {
	const checkedBy = new Map<string, number>();
	const webhook: Record<string, unknown>[] = [];
	const mail: { subject: string; text: string }[] = [];
	const reqs = sink.requests.splice(0);
	const msgs = smtp.messages.splice(0);
	for (const [i, req] of reqs.entries()) {
		const kind = CHANNELS.find((c) => c.path && req.url.startsWith(c.path.split('?')[0]!))?.kind ?? 'unknown';
		const label = `${tag} ${kind} #${i}`;
		checkedBy.set(kind, (checkedBy.get(kind) ?? 0) + 1);
		if (kind === 'webhook') {
			const o = checkWebhook(req, label);
			if (o) webhook.push(o);
		} else if (kind === 'wecom') checkWecom(req, label);
		else if (kind === 'dingtalk') checkDingtalk(req, label);
		else if (kind === 'feishu') checkFeishu(req, label);
		else if (kind === 'slack') checkSlack(req, label);
		else if (kind === 'teams') checkTeams(req, label);
		else injected(label, `a request to an unknown path ${req.url}`);
	}
	for (const [i, m] of msgs.entries()) {
		checkedBy.set('email', (checkedBy.get('email') ?? 0) + 1);
		mail.push(checkMail(m.data, m, `${tag} email #${i}`));
	}
	const perChannel = CHANNELS.map((c) => `${checkedBy.get(c.kind) ?? 0} ${c.kind}`).join(', ');
	return { webhook, mail, n: reqs.length + msgs.length, perChannel };
}

// ---------------------------------------------------------------------------------------------

describe('hostile text in outbound notifications (webhook, e-mail, WeCom, DingTalk, Feishu, Slack, Teams)', () => {
	it('delivers hostile titles and texts from the services as inert data to all seven receivers', async () => {
		const carrier = await declareIncident(ctx, manager, { title: 'Carrier incident', impact: 'extensive', urgency: 'high' });
		if (!carrier.ok) throw new Error(carrier.error.message);
		const carrierId = carrier.value.incident.id;
		if (!(await addMember(ctx, manager, { incidentId: carrierId, userId: responder.id, role: 'responder' })).ok)
			throw new Error('addMember');
		await drain();
		// The carrier's own declaration and page reach the channels too: checked here, not counted below.
		checkArrivals('setup');
		const setupDeliveries = await deliveryCount();
		let impact: 'extensive' | 'minor' = 'extensive';

		let calls = 0;
		let accepted = 0;
		const refusals = new Map<string, number>();
		const thrown: string[] = [];
		const acceptedTexts: string[] = [];
		const call = async (label: string, value: string, f: () => Promise<{ ok: boolean; error?: unknown }>) => {
			calls++;
			try {
				const r = await f();
				if (r.ok) {
					accepted++;
					acceptedTexts.push(value.trim());
					return true;
				}
				const e = r.error as { code: string; errors?: { code: string }[] };
				const code = e.errors?.[0]?.code ?? e.code;
				refusals.set(code, (refusals.get(code) ?? 0) + 1);
			} catch (e) {
				thrown.push(`${label}: ${(e as Error).message.slice(0, 160)}`);
			}
			return false;
		};

		for (const [name, p] of PAYLOADS) {
			let proposed: string | undefined;
			await call(`propose ${name}`, p, async () => {
				const r = await proposeIncident(ctx, evilProposer, { title: p, impact: 'significant', urgency: 'high' });
				if (r.ok) proposed = r.value.incident.id;
				return r;
			});
			// Accepting it declares it: the proposer (a member) hears "declared" with the title.
			if (proposed) {
				const id = proposed;
				await call(`accept ${name}`, p, () => acceptProposal(ctx, manager, { incidentId: id }));
			}
			let declared: string | undefined;
			await call(`declare ${name}`, p, async () => {
				const r = await declareIncident(ctx, manager, { title: p, description: p, impact: 'extensive', urgency: 'high' });
				if (r.ok) declared = r.value.incident.id;
				return r;
			});
			if (declared) {
				const id = declared;
				// Paging (the title in the body) and a status change (the title again) reach the responder.
				if (!(await addMember(ctx, manager, { incidentId: id, userId: responder.id, role: 'responder' })).ok) throw new Error('page');
				await call(`status ${name}`, p, () => changeStatus(ctx, manager, { incidentId: id, to: 'identified' }));
			}
			const next: 'extensive' | 'minor' = impact === 'extensive' ? 'minor' : 'extensive';
			if (await call(`priority ${name}`, p, () => changePriority(ctx, manager, { incidentId: carrierId, impact: next, reason: p })))
				impact = next;
			await call(`question ${name}`, p, () => requestUpdate(ctx, admin, { incidentId: carrierId, kind: 'question', text: p }));
			await call(`action item ${name}`, p, () =>
				createActionItem(ctx, manager, { incidentId: carrierId, input: { title: p, type: 'corrective', ownerId: responder.id } })
			);
		}
		const failed = await drain();
		const sent = (await deliveryCount()) - setupDeliveries - failed.length;
		const events = (
			await ctx.db
				.selectFrom('notification_deliveries')
				.select(['event', (eb) => eb.fn.countAll<string>().as('n')])
				.groupBy('event')
				.orderBy('event')
				.execute()
		)
			.map((e) => `${Number(e.n) / CHANNELS.length} ${e.event}`)
			.join(', ');
		const { webhook, mail, n, perChannel } = checkArrivals('services');

		// The text is there, as data: every accepted value reached the webhook and the e-mail.
		const carried = (values: string[], texts: string[]) =>
			values.filter((v) => !texts.some((t) => t.includes(v.replace(/\r\n?/g, '\n').slice(0, 60))));
		const webhookTexts = webhook.map((o) => `${String(o.title)}\n${String(o.body)}`.replace(/\r\n?/g, '\n'));
		const mailTexts = mail.map((m) => `${m.subject}\n${m.text}`.replace(/\r\n?/g, '\n'));
		const acceptedOnce = [...new Set(acceptedTexts)].filter((v) => v !== '');
		const notInWebhook = carried(acceptedOnce, webhookTexts);
		const notInMail = carried(acceptedOnce, mailTexts);

		const byCode = [...refusals].map(([c, k]) => `${k}×${c}`).join(' ');
		figures.add(
			`${CHANNELS.length} channels × ${PAYLOADS.length} hostile payloads through 7 service calls each: ${calls} calls, ${accepted} accepted, ` +
				`${calls - accepted - thrown.length} refused with a clear error (${byCode}), ${thrown.length} threw; ` +
				`${sent} deliveries sent (${perChannel}; per channel: ${events}), ${failed.length} not sent; ${injections.length} injections`
		);
		expect(thrown).toEqual([]);
		expect(failed).toEqual([]);
		expect(n).toBe(sent);
		expect({ notInWebhook, notInMail }).toEqual({ notInWebhook: [], notInMail: [] });
		expect(injections).toEqual([]);
		// The SQL payload was data too.
		expect(await deliveryCount()).toBeGreaterThan(0);
	});

	it('sends only the neutral notice for a restricted incident, whatever its text', async () => {
		const before = await deliveryCount();
		const i0 = injections.length;
		const title = PAYLOADS.find(([n]) => n === 'mentions')![1];
		const r = await declareIncident(ctx, manager, { title, description: title, impact: 'extensive', urgency: 'high', restricted: true });
		if (!r.ok) throw new Error(r.error.message);
		const { id, number } = r.value.incident;
		expect((await addMember(ctx, manager, { incidentId: id, userId: responder.id, role: 'responder' })).ok).toBe(true);
		for (const [, p] of PAYLOADS.filter(([n]) => ['Markdown link', 'fake link line', 'CRLF header injection'].includes(n))) {
			await changePriority(ctx, manager, { incidentId: id, impact: 'minor', reason: p });
			await changePriority(ctx, manager, { incidentId: id, impact: 'extensive', reason: p });
			await requestUpdate(ctx, admin, { incidentId: id, kind: 'question', text: p });
			await createActionItem(ctx, manager, {
				incidentId: id,
				input: { title: p.split('\n')[0]!, type: 'corrective', ownerId: responder.id }
			});
		}
		await changeStatus(ctx, manager, { incidentId: id, to: 'identified' });
		const failed = await drain();
		expect(failed).toEqual([]);
		const raw = [
			...sink.requests.map((q) => q.body + q.url),
			...smtp.messages.map((m) => {
				const mail = parseMail(m.data);
				return `${decodeHeader(mail.headers.subject ?? '')}\n${mail.text}`;
			})
		];
		const sent = (await deliveryCount()) - before;
		const { webhook, n } = checkArrivals('restricted');
		expect(n).toBe(sent);
		expect(sent).toBeGreaterThanOrEqual(CHANNELS.length * 5);
		const leaks: string[] = [];
		for (const [i, body] of raw.entries())
			for (const marker of [id, number, 'evil.example', '<@all>', '@所有人', 'Bcc:'])
				if (body.includes(marker)) leaks.push(`delivery ${i}: ${marker}`);
		for (const o of webhook) {
			const neutral = messages[o.locale as 'en' | 'zh-CN'];
			if (
				o.restricted !== true ||
				o.incidentId !== null ||
				o.title !== neutral['notify.restricted.title'] ||
				o.body !== neutral['notify.restricted.body']
			)
				leaks.push(`webhook: ${JSON.stringify(o).slice(0, 200)}`);
			if (o.url !== `${ORIGIN}/notifications`) leaks.push(`webhook link ${String(o.url)}`);
		}
		figures.add(`restricted incident: ${sent} neutral notices, ${leaks.length} leaks, ${injections.length - i0} injections`);
		expect(leaks).toEqual([]);
		expect(injections.slice(i0)).toEqual([]);
	});

	it('keeps unvalidated text (as a careless caller would send it) inert too, or refuses it whole', async () => {
		const before = await deliveryCount();
		const i0 = injections.length;
		let recorded = 0;
		let refused = 0;
		const extra: [string, string][] = [
			['CRLF in a title', 'P1\r\nBcc: victim@evil.example\r\nX-Injected: 1'],
			['huge', '[x](https://evil.example) '.repeat(40_000)]
		];
		for (const [name, p] of [...PAYLOADS, ...extra]) {
			const input: NotifyInput = {
				event: 'incident.declared',
				incidentId: null,
				recipients: [responder.id],
				title: { 'zh-CN': p, en: p },
				body: { 'zh-CN': p, en: p },
				link: '/incidents/direct',
				dedupeKey: `direct:${name}`
			};
			const n0 = await deliveryCount();
			await ctx.notify!.send(input); // never throws: a failure is logged
			if ((await deliveryCount()) > n0) recorded++;
			else refused++;
		}
		const failed = await drain();
		const sent = (await deliveryCount()) - before;
		const { n } = checkArrivals('direct');
		figures.add(
			`${PAYLOADS.length + extra.length} unvalidated payloads sent straight to the notifier: ${recorded} delivered (${sent} deliveries), ` +
				`${refused} not recorded (refused by the database, logged), ${injections.length - i0} injections`
		);
		expect(failed).toEqual([]);
		expect(n).toBe(sent);
		expect(injections.slice(i0)).toEqual([]);
	});
});
