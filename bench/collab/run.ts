/**
 * The collaboration benchmark (issue 9): one load generator, four targets started fresh on loopback,
 * interleaved over repetitions, every registered scenario against each.
 *
 *   npx tsx bench/collab/run.ts [--quick] [--only=scenario,...] [--targets=raw,stock,hocuspocus,ours] [--reps=N]
 *
 * The generator pins itself to CPU 0 and the servers to CPU 1. Prints one Markdown table per scenario
 * and writes them to bench/results/collab-<date>-<quick|full>.md. See bench/collab/README.md.
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { selfTest } from './harness/ycraft';
import { aggregate, header, renderTable } from './harness/report';
import { SCENARIOS, type Scenario } from './scenarios/index';
import { disposeTargets, TARGETS, TARGET_ORDER } from './targets/index';
import { ROOT } from './targets/common';
import type { Point, RunningTarget, TargetName } from './types';

// Interrupted (Ctrl-C, a CI timeout): drop ours' database (bounded), then exit normally, so the targets
// are killed and ours' PostgreSQL server is put back on its CPUs (targets/common.ts, targets/ours.ts:
// both run on 'exit').
for (const [signal, code] of [
	['SIGINT', 130],
	['SIGTERM', 143]
] as const) {
	process.once(signal, () => {
		const exit = () => process.exit(code);
		setTimeout(exit, 10_000).unref();
		Promise.allSettled([disposeTargets(), ...SCENARIOS.map((s) => s.dispose?.())]).then(exit, exit);
	});
}

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = args.includes('--quick');
const only = flag('only')?.split(',').filter(Boolean);
const targetNames = (flag('targets')?.split(',').filter(Boolean) ?? TARGET_ORDER) as TargetName[];
/** Appended to the results file's name, so a later run the same day keeps an earlier one's file. */
const tag = flag('tag')?.replace(/[^A-Za-z0-9_-]/g, '');
const reps = Math.max(1, Math.min(10, Number(flag('reps') ?? (quick ? 1 : 3))));
/** A scenario that has not finished against one target by then is abandoned (its target is stopped). */
const SCENARIO_TIMEOUT_MS = quick ? 90_000 : 300_000;
const GENERATOR_CPU = 0;
const SERVER_CPU = os.cpus().length > 1 ? 1 : 0;

for (const t of targetNames) if (!TARGETS[t]) throw new Error(`unknown target ${t}; use ${TARGET_ORDER.join(',')}`);
const scenarios: Scenario[] = SCENARIOS.filter((s) => !only || only.includes(s.name));
if (scenarios.length === 0)
	throw new Error(`no scenario matches --only=${only?.join(',')}; have ${SCENARIOS.map((s) => s.name).join(', ')}`);

const log = (m: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function pinSelf(): void {
	try {
		execSync(`taskset -a -cp ${GENERATOR_CPU} ${process.pid}`, { stdio: 'ignore' });
	} catch {
		log('warning: could not pin the generator with taskset');
	}
	const nofile = Number(execSync('sh -c "ulimit -n"').toString().trim());
	if (nofile < 4096) log(`warning: ulimit -n is ${nofile}; 1,000 clients need more (ulimit -n 20000)`);
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	try {
		return await Promise.race([
			p,
			new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)))
		]);
	} finally {
		clearTimeout(timer);
	}
}

async function main() {
	const startedAt = new Date();
	pinSelf();
	selfTest();
	const points: Point[] = [];
	const checks: Check[] = [];
	const failures: string[] = [];
	try {
		for (let rep = 0; rep < reps; rep++) {
			// Interleave: rotate the order each repetition so no target always runs first or last.
			const order = targetNames.map((_, i) => targetNames[(i + rep) % targetNames.length]!);
			for (const name of order) {
				const wanted = scenarios.filter((s) => !s.targets || s.targets.includes(name));
				if (wanted.length === 0) continue;
				log(`rep ${rep + 1}/${reps}: starting ${TARGETS[name].label}`);
				let target: RunningTarget | undefined;
				try {
					target = await TARGETS[name].start({ cpu: SERVER_CPU, quick, log: (m: string) => log(`    ${m}`) });
					for (const s of wanted) {
						log(`  ${s.name} on ${name}`);
						const ctx = {
							quick,
							rep,
							log: (m: string) => log(`    ${m}`),
							check: (what: string, ok: boolean, detail: string) => {
								checks.push({ target: name, scenario: s.name, what, ok, detail });
								if (!ok) log(`    CHECK FAILED: ${what}: ${detail}`);
							}
						};
						try {
							const got = await withTimeout(s.run(target, ctx), SCENARIO_TIMEOUT_MS, `${s.name} on ${name}`);
							points.push(...got);
						} catch (error) {
							log(`  ${s.name} on ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
							failures.push(
								`${s.name} on ${TARGETS[name].label} (rep ${rep + 1}): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`
							);
							points.push({
								scenario: s.name,
								row: 'error',
								measure: '—',
								target: name,
								value: NaN,
								better: 'lower',
								discarded: true,
								note: `failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`
							});
						}
					}
				} finally {
					await target?.stop();
				}
			}
		}
	} finally {
		await Promise.allSettled(scenarios.map((s) => s.dispose?.()));
		await disposeTargets();
	}

	const tables = aggregate(points);
	const parts = [header({ quick, reps, root: ROOT, startedAt, targets: targetNames })];
	for (const s of scenarios) {
		const t = tables.find((x) => x.scenario === s.name);
		if (!t) continue;
		parts.push(renderTable(t, s.title ?? s.name, s.description, s.goals?.(t), quick ? s.quick : undefined));
	}
	parts.push(renderChecks(checks, failures));
	const seconds = (Date.now() - startedAt.getTime()) / 1000;
	parts.push(`Run time: ${seconds.toFixed(0)} s.`, '');
	const md = parts.join('\n');
	process.stdout.write('\n' + md);
	const out = path.join(
		ROOT,
		'bench',
		'results',
		`collab-${startedAt.toISOString().slice(0, 10)}-${quick ? 'quick' : 'full'}${only ? '-' + only.join('+') : ''}${tag ? '-' + tag : ''}.md`
	);
	fs.mkdirSync(path.dirname(out), { recursive: true });
	fs.writeFileSync(out, md);
	log(`written to ${path.relative(ROOT, out)}`);
	const failed = checks.filter((c) => !c.ok).length;
	if (failed || failures.length) log(`${failed} check(s) failed, ${failures.length} scenario run(s) failed: see "Checks" in the results`);
	return failed || failures.length ? 1 : 0;
}

interface Check {
	target: TargetName;
	scenario: string;
	what: string;
	ok: boolean;
	detail: string;
}

/** The correctness checks of the run (convergence, complete documents, acks) and the scenarios that failed. */
function renderChecks(checks: Check[], failures: string[]): string {
	const failed = checks.filter((c) => !c.ok);
	const perTarget = targetNames
		.map((t) => {
			const mine = checks.filter((c) => c.target === t);
			return `${TARGETS[t].label} ${mine.filter((c) => c.ok).length}/${mine.length}`;
		})
		.join(', ');
	const lines = [
		'## Checks',
		'',
		`Correctness checks (two full clients converged, every two-client room converged, documents loaded complete, writes acknowledged): ` +
			`${checks.length - failed.length} of ${checks.length} passed (${perTarget}).`
	];
	if (failed.length)
		lines.push('', 'Failed checks:', '', ...failed.map((c) => `- ${TARGETS[c.target].label}, ${c.scenario}: ${c.what}: ${c.detail}`));
	lines.push(
		'',
		failures.length ? `Scenario runs that failed (no figures):\n\n${failures.map((f) => `- ${f}`).join('\n')}` : 'No scenario run failed.',
		''
	);
	return lines.join('\n');
}

const status = await main();
// Everything is stopped and written; a handle some library keeps (a pool, a timer) must not hold the run open.
process.exit(status);
