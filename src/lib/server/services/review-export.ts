/**
 * Exports of the review and the monthly report: the content becomes document blocks
 * (domain/review-document.ts) once, and each format renders those blocks — Markdown, and PDF through
 * pdfkit with Noto Sans SC embedded, so Chinese and English both render on any reader without
 * relying on the reader's fonts. pdfkit subsets the font to the glyphs used: a review is tens of KB,
 * not the 10 MB of the font file.
 */
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import { formatDuration, toMarkdown, type Block } from '../../domain/review-document';
import { REVIEW_SECTIONS } from '../../collab/review-doc';
import { err, ok, type DomainError, type Result } from '../../domain/result';
import { translate, type Locale } from '../../i18n';
import type { Actor, AppContext } from '../context';
import { contentForExport, type ReviewContent, type ReviewState } from './review.service';

export type ExportFormat = 'md' | 'pdf';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['md', 'pdf'];

export interface ExportFile {
	filename: string;
	contentType: string;
	body: string | Uint8Array;
}

const require = createRequire(import.meta.url);
/** Resolved lazily: a missing font is reported when a PDF is asked for, not at start-up. */
let fontPaths: { regular: string; bold: string } | undefined;
function fonts(): { regular: string; bold: string } {
	fontPaths ??= {
		regular: require.resolve('@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf'),
		bold: require.resolve('@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf')
	};
	return fontPaths;
}

function fmtTime(iso: string | Date | null, timeZone: string): string {
	if (!iso) return '—';
	const d = typeof iso === 'string' ? new Date(iso) : iso;
	return new Intl.DateTimeFormat('en-CA', {
		timeZone,
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		hourCycle: 'h23'
	})
		.format(d)
		.replace(',', '');
}

/** The review as document blocks, in one language. */
export function reviewBlocks(
	content: ReviewContent,
	opts: { locale: Locale; timeZone: string; state: ReviewState; version: number | null; hash: string | null }
): Block[] {
	const t = (key: string, params?: Record<string, string | number>) => translate(opts.locale, key, params);
	const zh = opts.locale === 'zh-CN';
	const f = content.facts;
	const time = (x: string | null) => fmtTime(x, opts.timeZone);
	const blocks: Block[] = [{ kind: 'title', text: t('review.docTitle', { number: f.incident.number, title: f.incident.title }) }];
	blocks.push({
		kind: 'paragraph',
		text: opts.version ? `${t(`review.state.${opts.state}`)} · ${t('review.version', { version: opts.version })}` : t('review.draftMark')
	});
	if (f.incident.drill) blocks.push({ kind: 'paragraph', text: t('review.drill') });

	blocks.push({ kind: 'heading', text: t('review.summary') });
	blocks.push({ kind: 'paragraph', text: f.incident.description });
	blocks.push({
		kind: 'fields',
		pairs: [
			[t('review.priority'), f.incident.priority],
			[t('review.services'), f.services.map((s) => `${zh ? s.nameZh : s.nameEn} (${s.code})`).join(', ') || '—'],
			[t('review.regions'), f.regions.join(', ') || '—'],
			[t('review.duration'), formatDuration(f.durationMs)]
		]
	});

	blocks.push({ kind: 'heading', text: t('review.keyTimes') });
	blocks.push({
		kind: 'fields',
		pairs: (['detectedAt', 'declaredAt', 'firstAckedAt', 'mitigatedAt', 'resolvedAt', 'closedAt'] as const).map((k) => [
			t(`review.time.${k}`),
			time(f.times[k])
		])
	});
	blocks.push({ kind: 'heading', text: t('review.stages') });
	blocks.push({
		kind: 'table',
		head: [t('review.col.stage'), t('review.col.duration'), t('review.col.target'), t('review.col.verdict')],
		rows: f.stages.map((s) => [
			t(`review.stage.${s.key}`),
			formatDuration(s.ms),
			s.targetMs === null ? '—' : formatDuration(s.targetMs),
			t(`review.verdict.${s.verdict}`)
		])
	});
	if (f.clocks.length) {
		blocks.push({ kind: 'heading', text: t('review.clocks') });
		blocks.push({
			kind: 'table',
			head: [t('review.col.clock'), t('review.col.due'), t('review.col.done'), t('review.col.state')],
			rows: f.clocks.map((c) => [t(`report.monthly.clock.${c.kind}`), time(c.dueAt), time(c.metAt), t(`review.clockState.${c.state}`)])
		});
	}

	blocks.push({ kind: 'heading', text: t('review.timeline') });
	blocks.push({
		kind: 'table',
		head: [t('review.col.time'), t('review.col.entry'), t('review.col.author')],
		rows: f.timeline.map((e) => [
			time(e.at),
			`${e.pinned ? `[${t('review.pinned')}] ` : ''}${e.i18n ? e.i18n[opts.locale] : e.text}`,
			e.authorName
		])
	});
	if (f.timelineTruncated) blocks.push({ kind: 'paragraph', text: t('review.timelineTruncated', { max: f.timeline.length }) });

	blocks.push({ kind: 'heading', text: t('review.reports') });
	if (f.reports.length)
		blocks.push({
			kind: 'table',
			head: [t('review.col.report'), t('review.col.sent'), t('review.col.approvedBy'), t('review.col.acks'), t('review.col.ackDelay')],
			rows: f.reports.map((r) => [
				`${r.reportKind ?? ''}${r.sequence ? ` #${r.sequence}` : ''}`,
				time(r.sentAt),
				r.approvedBy ?? '—',
				r.acks.length ? r.acks.map((a) => `${a.name} ${time(a.at)}`).join('\n') : t('review.notAcked'),
				formatDuration(r.ackDelayMs)
			])
		});
	else blocks.push({ kind: 'paragraph', text: t('review.noReports') });

	blocks.push({ kind: 'heading', text: t('review.playbooks') });
	if (!f.playbooks.length) blocks.push({ kind: 'paragraph', text: t('review.noPlaybooks') });
	for (const p of f.playbooks) {
		blocks.push({
			kind: 'paragraph',
			text: `${p.title[opts.locale]} — ${t('review.playbookCounts', { done: p.done, skipped: p.skipped, late: p.late, open: p.open })}`
		});
		blocks.push({
			kind: 'table',
			head: [t('review.col.step'), t('review.col.stepState'), t('review.col.due'), t('review.col.done')],
			rows: p.steps.map((s) => [
				`${s.title[opts.locale]}${s.mandatory ? ` (${t('review.mandatory')})` : ''}`,
				`${t(`review.stepState.${s.state}`)}${s.late ? ` (${t('review.late')})` : ''}${s.skipReason ? `: ${s.skipReason}` : ''}`,
				time(s.dueAt),
				s.doneAt ? `${time(s.doneAt)} ${s.doneByName ?? ''}` : '—'
			])
		});
	}
	if (f.deviations.length) {
		blocks.push({ kind: 'heading', text: t('review.deviations') });
		blocks.push({
			kind: 'table',
			head: [t('review.col.step'), t('review.col.state'), t('review.col.reason'), t('review.col.recordedBy')],
			rows: f.deviations.map((d) => [
				d.stepTitle?.[opts.locale] ?? d.stepId,
				t(`review.deviation.${d.kind}`),
				d.reason,
				`${d.recordedBy ?? '—'} ${time(d.at)}`
			])
		});
	}

	blocks.push({ kind: 'heading', text: t('review.participants') });
	blocks.push({
		kind: 'table',
		head: [t('review.col.name'), t('review.col.role'), t('review.col.joined'), t('review.col.left')],
		rows: f.participants.map((p) => [p.name, translate(opts.locale, `incidentRole.${p.role}`), time(p.addedAt), time(p.removedAt)])
	});

	for (const key of REVIEW_SECTIONS) {
		blocks.push({ kind: 'heading', text: t(`review.section.${key}`) });
		const text = content.narrative[key].trim();
		if (key === 'five_whys' && text) {
			blocks.push({
				kind: 'list',
				items: text
					.split('\n')
					.filter((l) => l.trim())
					.map((l, i) => `${t('review.fiveWhys.why', { n: i + 1 })} ${l.trim()}`)
			});
		} else blocks.push({ kind: 'paragraph', text: text || t('review.sectionEmpty') });
	}

	blocks.push({ kind: 'heading', text: t('review.actionItems') });
	if (content.actionItems.length)
		blocks.push({
			kind: 'table',
			head: [
				t('action.col.title'),
				t('action.col.owner'),
				t('action.col.due'),
				t('action.col.type'),
				t('action.col.link'),
				t('action.col.status')
			],
			rows: content.actionItems.map((i) => [
				i.title,
				i.owner ?? t('action.noOwner'),
				i.dueDate ?? '—',
				t(`action.type.${i.type}`),
				i.link ?? '—',
				t(`action.status.${i.status}`)
			])
		});
	else blocks.push({ kind: 'paragraph', text: '—' });

	blocks.push({ kind: 'heading', text: t('review.satisfaction') });
	const s = f.satisfaction;
	blocks.push({
		kind: 'paragraph',
		text: s.answered
			? t('review.satisfactionSummary', { answered: s.answered, sent: s.sent, mean: (s.meanScore ?? 0).toFixed(1) })
			: t('review.noSatisfaction')
	});
	if (s.responses.length)
		blocks.push({
			kind: 'list',
			items: s.responses.map((r) => `${r.serviceCode} · ${r.recipient}: ${r.score}/5${r.comment ? ` — ${r.comment}` : ''}`)
		});

	blocks.push({ kind: 'heading', text: t('review.signOff') });
	blocks.push({
		kind: 'paragraph',
		text: content.signOff ? t('review.signedOff', { name: content.signOff.name, time: time(content.signOff.at) }) : t('review.draftMark')
	});
	if (opts.hash) blocks.push({ kind: 'paragraph', text: t('review.hash', { hash: opts.hash }) });
	return blocks;
}

const PAGE_MARGIN_PT = 50;
const CELL_PAD_PT = 3;

/** Renders blocks to a PDF with the embedded CJK font. */
export async function blocksToPdf(blocks: readonly Block[], opts: { title: string }): Promise<Uint8Array> {
	const { regular, bold } = fonts();
	const doc = new PDFDocument({ size: 'A4', margin: PAGE_MARGIN_PT, info: { Title: opts.title, Creator: 'Warroom' }, bufferPages: true });
	doc.registerFont('body', regular);
	doc.registerFont('bold', bold);
	const chunks: Buffer[] = [];
	doc.on('data', (c: Buffer) => chunks.push(c));
	const done = new Promise<void>((resolve, reject) => {
		doc.on('end', () => resolve());
		doc.on('error', reject);
	});
	const left = doc.page.margins.left;
	const width = doc.page.width - doc.page.margins.left - doc.page.margins.right;
	const bottom = () => doc.page.height - doc.page.margins.bottom;

	for (const b of blocks) {
		switch (b.kind) {
			case 'title':
				doc.font('bold').fontSize(17).text(b.text, left, doc.y, { width });
				doc.moveDown(0.5);
				break;
			case 'heading':
				if (doc.y + 60 > bottom()) doc.addPage();
				doc.moveDown(0.4).font('bold').fontSize(12.5).text(b.text, left, doc.y, { width });
				doc.moveDown(0.2);
				break;
			case 'paragraph':
				if (b.text.trim()) doc.font('body').fontSize(10).text(b.text, left, doc.y, { width });
				doc.moveDown(0.3);
				break;
			case 'list':
				doc.font('body').fontSize(10);
				for (const item of b.items) doc.text(`• ${item}`, left + 8, doc.y, { width: width - 8 });
				doc.moveDown(0.3);
				break;
			case 'fields':
				for (const [k, v] of b.pairs) {
					doc.font('bold').fontSize(10).text(`${k}: `, left, doc.y, { width, continued: true });
					doc.font('body').text(v);
				}
				doc.moveDown(0.3);
				break;
			case 'table': {
				if (!b.rows.length) break;
				const cols = b.head.length;
				const colWidth = width / cols;
				const row = (cells: readonly string[], font: 'body' | 'bold') => {
					doc.font(font).fontSize(8.5);
					const heights = cells.map((c) => doc.heightOfString(c || ' ', { width: colWidth - 2 * CELL_PAD_PT }));
					const h = Math.max(...heights) + 2 * CELL_PAD_PT;
					if (doc.y + h > bottom()) doc.addPage();
					const y = doc.y;
					cells.forEach((c, i) => {
						doc.text(c || ' ', left + i * colWidth + CELL_PAD_PT, y + CELL_PAD_PT, { width: colWidth - 2 * CELL_PAD_PT });
					});
					doc
						.moveTo(left, y + h)
						.lineTo(left + width, y + h)
						.lineWidth(0.3)
						.strokeColor('#999999')
						.stroke();
					doc.x = left;
					doc.y = y + h;
				};
				row(b.head, 'bold');
				for (const r of b.rows)
					row(
						b.head.map((_, i) => r[i] ?? ''),
						'body'
					);
				doc.moveDown(0.5);
				break;
			}
		}
	}
	// Page numbers, on every page once the content is laid out.
	const range = doc.bufferedPageRange();
	for (let i = range.start; i < range.start + range.count; i++) {
		doc.switchToPage(i);
		doc.font('body').fontSize(8).fillColor('#666666');
		doc.text(`${opts.title} — ${i + 1}/${range.count}`, left, doc.page.height - PAGE_MARGIN_PT + 15, {
			width,
			align: 'center',
			lineBreak: false
		});
		doc.fillColor('#000000');
	}
	doc.end();
	await done;
	return new Uint8Array(Buffer.concat(chunks));
}

/** A file name safe in a Content-Disposition header on every platform. */
export function safeFilename(base: string, ext: string): string {
	return `${base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'export'}.${ext}`;
}

export async function renderBlocks(
	blocks: readonly Block[],
	opts: { format: ExportFormat; title: string; filenameBase: string }
): Promise<ExportFile> {
	if (opts.format === 'md')
		return { filename: safeFilename(opts.filenameBase, 'md'), contentType: 'text/markdown; charset=utf-8', body: toMarkdown(blocks) };
	return {
		filename: safeFilename(opts.filenameBase, 'pdf'),
		contentType: 'application/pdf',
		body: await blocksToPdf(blocks, { title: opts.title })
	};
}

function badFormat(value: unknown): DomainError {
	return { code: 'invalid_value', message: `format must be one of ${EXPORT_FORMATS.join(', ')} (got "${String(value)}")`, field: 'format' };
}

/** The review as Markdown or PDF (export_incident): the published version, or the draft marked as such. */
export async function exportReview(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: unknown; format: unknown; locale: Locale; version?: unknown }
): Promise<Result<ExportFile>> {
	if (!(EXPORT_FORMATS as readonly unknown[]).includes(opts.format)) return err(badFormat(opts.format));
	const format = opts.format as ExportFormat;
	const c = await contentForExport(ctx, actor, { incidentId: opts.incidentId, version: opts.version });
	if (!c.ok) return c;
	const blocks = reviewBlocks(c.value.content, {
		locale: opts.locale,
		timeZone: ctx.config.orgTimeZone,
		state: c.value.state,
		version: c.value.version,
		hash: c.value.hash
	});
	const number = c.value.content.facts.incident.number;
	const title = translate(opts.locale, 'review.docTitle', { number, title: c.value.content.facts.incident.title });
	return ok(
		await renderBlocks(blocks, { format, title, filenameBase: `${number}-review${c.value.version ? `-v${c.value.version}` : '-draft'}` })
	);
}
