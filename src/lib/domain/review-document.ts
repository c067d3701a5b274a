/**
 * A small document model shared by the review and the monthly report exports: services build a list
 * of blocks once, and each format (Markdown here, PDF in services/review-pdf.ts, the print layout in
 * the browser) renders the same blocks, so the formats cannot drift apart. Pure.
 */
import { markdownLines, markdownText } from './markdown';

export type Block =
	| { kind: 'title'; text: string }
	| { kind: 'heading'; text: string }
	| { kind: 'paragraph'; text: string }
	| { kind: 'list'; items: string[] }
	| { kind: 'fields'; pairs: [label: string, value: string][] }
	| { kind: 'table'; head: string[]; rows: string[][] };

const inline = markdownText;

function paragraph(text: string): string {
	// Keep the author's line breaks (two trailing spaces = hard break); a leading "#", "-", "1." or ">"
	// in someone's text does not become a heading or a list.
	return markdownLines(text).join('  \n');
}

function cell(text: string): string {
	return inline(text).replace(/\n/g, '<br>') || ' ';
}

export function toMarkdown(blocks: readonly Block[]): string {
	const out: string[] = [];
	for (const b of blocks) {
		switch (b.kind) {
			case 'title':
				out.push(`# ${inline(b.text)}`);
				break;
			case 'heading':
				out.push(`## ${inline(b.text)}`);
				break;
			case 'paragraph':
				if (b.text.trim()) out.push(paragraph(b.text));
				break;
			case 'list':
				if (b.items.length) out.push(b.items.map((i) => `- ${inline(i).replace(/\n/g, '  \n  ')}`).join('\n'));
				break;
			case 'fields':
				out.push(b.pairs.map(([k, v]) => `- **${inline(k)}**: ${inline(v).replace(/\n/g, '  \n  ')}`).join('\n'));
				break;
			case 'table':
				if (!b.rows.length) break;
				out.push(
					[
						`| ${b.head.map(cell).join(' | ')} |`,
						`| ${b.head.map(() => '---').join(' | ')} |`,
						...b.rows.map((r) => `| ${b.head.map((_, i) => cell(r[i] ?? '')).join(' | ')} |`)
					].join('\n')
				);
				break;
		}
	}
	return out.join('\n\n') + '\n';
}

/** Milliseconds as "2 h 05 min" / "45 min" / "30 s"; null as an em dash. */
export function formatDuration(ms: number | null): string {
	if (ms === null) return '—';
	const totalMinutes = Math.floor(ms / 60_000);
	if (totalMinutes === 0) return `${Math.round(ms / 1000)} s`;
	const days = Math.floor(totalMinutes / 1440);
	const hours = Math.floor((totalMinutes % 1440) / 60);
	const minutes = totalMinutes % 60;
	if (days) return `${days} d ${hours} h`;
	if (hours) return `${hours} h ${String(minutes).padStart(2, '0')} min`;
	return `${minutes} min`;
}
