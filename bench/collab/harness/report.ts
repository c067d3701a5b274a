/**
 * Markdown tables: one per scenario, a row per (row, measure), a column per target with the median over
 * repetitions and its min–max, then the ratios to A (raw relay) and B (stock). Discarded points (the
 * generator lagged) are counted, never used.
 */
import { execSync } from 'node:child_process';
import os from 'node:os';
import type { Point, TargetName } from '../types';
import { TARGETS, TARGET_ORDER } from '../targets/index';
import { databasePlacement } from '../targets/ours';
import { LAG_P99_BOUND_MS } from './lag';
import { median } from './stats';

export interface Cell {
	values: number[];
	discarded: number;
	/** Values that are lower bounds (the measurement ended before the event, a ladder held at its top): shown with "≥". */
	atLeast: number;
	median: number;
	min: number;
	max: number;
}

export interface Aggregate {
	scenario: string;
	rows: { row: string; measure: string; better: Point['better']; noRatio?: boolean; cells: Partial<Record<TargetName, Cell>> }[];
	notes: string[];
}

export function aggregate(points: Point[]): Aggregate[] {
	const out = new Map<string, Aggregate>();
	for (const p of points) {
		let a = out.get(p.scenario);
		if (!a) out.set(p.scenario, (a = { scenario: p.scenario, rows: [], notes: [] }));
		let r = a.rows.find((x) => x.row === p.row && x.measure === p.measure);
		if (!r) a.rows.push((r = { row: p.row, measure: p.measure, better: p.better, cells: {} }));
		if (p.noRatio) r.noRatio = true;
		const c = (r.cells[p.target] ??= { values: [], discarded: 0, atLeast: 0, median: NaN, min: NaN, max: NaN });
		if (p.discarded || !Number.isFinite(p.value)) c.discarded++;
		else {
			c.values.push(p.value);
			if (p.atLeast) c.atLeast++;
		}
		if (p.note) {
			const note = `${TARGETS[p.target].label}: ${p.note}`;
			if (!a.notes.includes(note)) a.notes.push(note);
		}
	}
	for (const a of out.values())
		for (const r of a.rows)
			for (const c of Object.values(r.cells)) {
				c.median = median(c.values);
				c.min = c.values.length ? Math.min(...c.values) : NaN;
				c.max = c.values.length ? Math.max(...c.values) : NaN;
			}
	return [...out.values()];
}

const fmt = (n: number) =>
	!Number.isFinite(n) ? '—' : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

function cellText(c: Cell | undefined): string {
	if (!c) return '—';
	const d = c.discarded ? ` ‡${c.discarded}` : '';
	if (c.values.length === 0) return c.discarded ? `discarded${d}` : '—';
	// Lower bounds: "≥ x" when every value is one, else a count of them after the cell.
	const gt = c.atLeast === c.values.length ? '≥ ' : '';
	const some = c.atLeast && !gt ? ` (${c.atLeast} of ${c.values.length} lower bounds)` : '';
	if (c.values.length === 1) return `${gt}${fmt(c.median)}${d}`;
	return `${gt}**${fmt(c.median)}** (${fmt(c.min)}–${fmt(c.max)})${some}${d}`;
}

function ratio(a: Cell | undefined, b: Cell | undefined): string {
	if (!a || !b || !Number.isFinite(a.median) || !Number.isFinite(b.median) || b.median === 0) return '—';
	const r = `${(a.median / b.median).toFixed(2)}×`;
	const all = (c: Cell) => c.atLeast === c.values.length;
	// A lower bound over an exact figure bounds the ratio from below, an exact one over a lower bound
	// from above; lower bounds on both sides, or among the values of one, leave it unknown.
	if (!a.atLeast && !b.atLeast) return r;
	if (all(a) && !b.atLeast) return `≥ ${r}`;
	if (!a.atLeast && all(b)) return `≤ ${r}`;
	return '—';
}

export function header(opts: { quick: boolean; reps: number; root: string; startedAt: Date; targets: TargetName[] }): string {
	let commit = 'unknown';
	try {
		commit = execSync('git rev-parse --short HEAD', { cwd: opts.root }).toString().trim();
		const dirty = execSync('git status --porcelain -- src server bench/collab', { cwd: opts.root }).toString().trim();
		if (dirty) commit += ' (+ uncommitted changes)';
	} catch {
		// not a git checkout
	}
	const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
	return [
		`# Collaboration server benchmark (${opts.quick ? 'quick' : 'full'}) — ${opts.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
		'',
		`Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}; Node ${process.version}; commit ${commit}.`,
		`Server pinned to CPU 1${opts.targets.includes('ours') ? ` (ours: ${databasePlacement()})` : ''}, generator to CPU 0 (\`taskset\`); ${opts.reps} repetition(s), targets interleaved (order rotated each repetition); ` +
			`cells are the median (min–max) over repetitions; ‡n = n points discarded because the generator's event-loop delay p99 exceeded ${LAG_P99_BOUND_MS} ms.`,
		`Targets: ${opts.targets.map((t) => TARGETS[t].label).join(', ')}. Ratios are of medians (for "lower is better" rows below 1 is better); "≥ x" is a lower bound (a ladder held at its top or stopped because the generator lagged, a watch that ended first), and a goal it cannot decide says "not decided".`,
		...(opts.quick
			? [
					'',
					'**Quick run**: one repetition (full: 3), fewer and shorter points, single samples, so the figures are noisy and a ladder that holds at its (short) top is only a lower bound; ' +
						'ours logs in 64 users (96); a scenario is abandoned after 90 s against one target (5 min). Under each table, "Quick:" says what it leaves out. Take figures from a full run.'
				]
			: []),
		''
	].join('\n');
}

export function renderTable(a: Aggregate, title: string, description?: string, goals?: string[], quickNote?: string): string {
	const targets = TARGET_ORDER.filter((t) => a.rows.some((r) => r.cells[t]));
	const lines = [`## ${title}`, ''];
	if (description) lines.push(description, '');
	if (quickNote) lines.push(`Quick: ${quickNote}`, '');
	lines.push(
		`| row | measure | ${targets.map((t) => TARGETS[t].label).join(' | ')} | D ÷ A | D ÷ B | C ÷ B |`,
		`| --- | --- | ${targets.map(() => '---:').join(' | ')} | ---: | ---: | ---: |`
	);
	for (const r of a.rows) {
		const arrow = r.better === 'lower' ? '↓' : '↑';
		const ratios = r.noRatio
			? '— | — | —'
			: `${ratio(r.cells.ours, r.cells.raw)} | ${ratio(r.cells.ours, r.cells.stock)} | ${ratio(r.cells.hocuspocus, r.cells.stock)}`;
		lines.push(`| ${r.row} | ${r.measure} ${arrow} | ${targets.map((t) => cellText(r.cells[t])).join(' | ')} | ${ratios} |`);
	}
	if (goals?.length) lines.push('', ...goals.map((g) => `- ${g}`));
	if (a.notes.length) lines.push('', 'Notes:', '', ...a.notes.map((n) => `- ${n}`));
	lines.push('');
	return lines.join('\n');
}

/**
 * The verdict of a goal "D ≥ k × reference" (higher is better) when either side may be a lower bound
 * (a ladder held at its top, or stopped because the generator lagged): met only against an exact
 * reference, missed only by an exact figure of ours; otherwise not decided, and the line says why.
 */
export function atLeastVerdict(ok: boolean, ours: Cell | undefined, reference: Cell | undefined, referenceName: string): string {
	if (ok && reference?.atLeast)
		return `not decided: ${referenceName}'s figure is a lower bound (the top of its ladder, or the generator lagged)`;
	if (!ok && ours?.atLeast) return "not decided: D's figure is a lower bound (the top of its ladder, or the generator lagged)";
	return ok ? 'met' : 'missed';
}

/** A target's cell for (row, measure). */
export function cellOf(a: Aggregate | undefined, row: string, measure: string, target: TargetName): Cell | undefined {
	return a?.rows.find((r) => r.row === row && r.measure === measure)?.cells[target];
}

/** The median of a target's cell for (row, measure), or NaN. */
export function cellMedian(a: Aggregate | undefined, row: string, measure: string, target: TargetName): number {
	return cellOf(a, row, measure, target)?.median ?? NaN;
}
