import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
	COMMUNICATION_KINDS,
	PLAYBOOK_CATEGORIES,
	checkPlaybooks,
	formatIssue,
	parsePlaybook,
	renderTemplate,
	type LocalisedText,
	type Playbook,
	type PlaybookFile
} from './playbook';

const ROOT = new URL('../../../', import.meta.url);

function readDir(relative: string): PlaybookFile[] {
	return readdirSync(new URL(relative, ROOT))
		.filter((name) => name.endsWith('.yaml'))
		.sort()
		.map((name) => ({ path: `${relative}${name}`, text: readFileSync(new URL(`${relative}${name}`, ROOT), 'utf8') }));
}

const minimal = readDir('tests/fixtures/playbooks/valid/').find((f) => f.path.endsWith('minimal.yaml'));
if (!minimal) throw new Error('tests/fixtures/playbooks/valid/minimal.yaml is missing');

describe('checkPlaybooks', () => {
	it('separates valid files from invalid ones and keeps the given order', () => {
		const broken = { path: 'broken.yaml', text: 'id: [' };
		const other = { path: 'other.yaml', text: minimal.text.replace('id: minimal', 'id: other') };
		const result = checkPlaybooks([minimal, broken, other]);
		expect(result.valid.map((p) => p.id)).toEqual(['minimal', 'other']);
		expect(result.invalid.map((i) => i.path)).toEqual(['broken.yaml']);
		expect(result.invalid[0]?.errors[0]?.code).toBe('yaml_syntax');
	});

	it('flags every file that shares a playbook id, at the id, naming the other files', () => {
		const result = checkPlaybooks(readDir('tests/fixtures/playbooks/broken/duplicate-id/'));
		expect(result.valid).toEqual([]);
		expect(result.invalid).toEqual([
			{
				path: 'tests/fixtures/playbooks/broken/duplicate-id/a.yaml',
				errors: [
					{
						path: 'tests/fixtures/playbooks/broken/duplicate-id/a.yaml',
						line: 2,
						column: 5,
						code: 'duplicate_playbook_id',
						field: 'id',
						message: 'id "same-id" is also used by tests/fixtures/playbooks/broken/duplicate-id/b.yaml (playbook ids must be unique)'
					}
				]
			},
			{
				path: 'tests/fixtures/playbooks/broken/duplicate-id/b.yaml',
				errors: [
					{
						path: 'tests/fixtures/playbooks/broken/duplicate-id/b.yaml',
						line: 3,
						column: 5,
						code: 'duplicate_playbook_id',
						field: 'id',
						message: 'id "same-id" is also used by tests/fixtures/playbooks/broken/duplicate-id/a.yaml (playbook ids must be unique)'
					}
				]
			}
		]);
	});

	it('does not let an invalid file with the same id knock out a valid one', () => {
		const invalidTwin = { path: 'twin.yaml', text: minimal.text.replace('version: 1', 'version: 0') };
		const result = checkPlaybooks([minimal, invalidTwin]);
		expect(result.valid.map((p) => p.id)).toEqual(['minimal']);
		expect(result.invalid.map((i) => i.errors.map((e) => e.code))).toEqual([['invalid_value']]);
	});
});

describe('formatIssue', () => {
	it('prints path:line:column, two spaces and the message', () => {
		const result = parsePlaybook(minimal.text.replace('timeTargetMinutes: 10', 'timeTargetMinutes: -5'), 'playbooks/x.yaml');
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(result.errors.map(formatIssue)).toEqual([
			'playbooks/x.yaml:22:28  phases[0].steps[0].timeTargetMinutes must be a non-negative integer (got -5)'
		]);
	});
});

// ---------------------------------------------------------------------------------------------
// The shipped content
// ---------------------------------------------------------------------------------------------

const shipped = readDir('playbooks/');
const checked = checkPlaybooks(shipped);

const CJK = /[\u3400-\u9fff]/;

/** Every bilingual text in a playbook, with where it is. */
function texts(p: Playbook): [string, LocalisedText][] {
	const out: [string, LocalisedText][] = [
		['title', p.title],
		['summary', p.summary]
	];
	p.phases.forEach((phase, i) => {
		out.push([`phases[${i}].title`, phase.title]);
		phase.steps.forEach((s, j) => {
			const at = `phases[${i}].steps[${j}]`;
			out.push([`${at}.title`, s.title]);
			if (s.details) out.push([`${at}.details`, s.details]);
			s.checks.forEach((c, k) => out.push([`${at}.checks[${k}]`, c]));
			s.contacts.forEach((c, k) => out.push([`${at}.contacts[${k}].party`, c.party]));
		});
	});
	p.decisionPoints.forEach((d, i) => {
		out.push([`decisionPoints[${i}].question`, d.question]);
		d.options.forEach((o, j) => out.push([`decisionPoints[${i}].options[${j}].label`, o.label]));
	});
	p.communications.forEach((c, i) => {
		if (c.subject) out.push([`communications[${i}].subject`, c.subject]);
		out.push([`communications[${i}].body`, c.body]);
	});
	p.escalation.forEach((e, i) => out.push([`escalation[${i}].text`, e.text]));
	p.exitCriteria.forEach((e, i) => out.push([`exitCriteria[${i}]`, e]));
	return out;
}

describe('the playbooks shipped in playbooks/', () => {
	it('all validate', () => {
		expect(checked.invalid.flatMap((i) => i.errors.map(formatIssue))).toEqual([]);
		expect(checked.valid).toHaveLength(shipped.length);
	});

	it('include at least eight, covering every category', () => {
		expect(checked.valid.length).toBeGreaterThanOrEqual(8);
		expect(new Set(checked.valid.map((p) => p.category))).toEqual(new Set(PLAYBOOK_CATEGORIES));
	});

	it('are each stored in a file named after their id', () => {
		for (const [i, p] of checked.valid.entries()) expect(shipped[i]?.path).toBe(`playbooks/${p.id}.yaml`);
	});

	it('include the database failover playbook', () => {
		expect(checked.valid.map((p) => p.id)).toContain('database-primary-failover');
	});

	it('write every prose field in Chinese and in English', () => {
		const problems: string[] = [];
		for (const p of checked.valid) {
			for (const [field, text] of texts(p)) {
				if (!CJK.test(text['zh-CN'])) problems.push(`${p.id} ${field}.zh-CN has no Chinese`);
				if (CJK.test(text.en)) problems.push(`${p.id} ${field}.en contains Chinese`);
			}
		}
		expect(problems).toEqual([]);
	});

	it('each have all three communication templates, and every template fills without leftovers', () => {
		for (const p of checked.valid) {
			expect(p.communications.map((c) => c.kind).sort()).toEqual([...COMMUNICATION_KINDS].sort());
			for (const c of p.communications) {
				for (const text of [c.body, c.subject].filter((t) => t !== undefined)) {
					for (const locale of ['zh-CN', 'en'] as const) {
						expect(renderTemplate(text[locale], {})).not.toMatch(/\{\{|\}\}/);
					}
				}
			}
		}
	});

	it('each report a P1 incident to head office within 30 minutes', () => {
		for (const p of checked.valid) {
			const rule = p.escalation.find(
				(e) => e.when.priority?.includes('P1') && e.when.multiRegion === undefined && e.reportTo.includes('head_office')
			);
			expect(rule?.reportWithinMinutes, p.id).toBeLessThanOrEqual(30);
		}
	});

	it('restrict the security playbook and only that one', () => {
		for (const p of checked.valid) expect(p.restricted, p.id).toBe(p.category === 'security');
	});

	it('each have decision points, mandatory steps and concrete commands', () => {
		for (const p of checked.valid) {
			const steps = p.phases.flatMap((phase) => phase.steps);
			expect(p.decisionPoints.length, p.id).toBeGreaterThan(0);
			expect(steps.filter((s) => s.mandatory).length, p.id).toBeGreaterThanOrEqual(3);
			expect(
				steps.some((s) => s.commands.length > 0 || s.checks.length > 0),
				p.id
			).toBe(true);
		}
	});

	it('include the README example, which is itself a valid playbook', () => {
		const readme = readFileSync(new URL('playbooks/README.md', ROOT), 'utf8');
		const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
		const result = parsePlaybook(example, 'playbooks/README.md');
		expect(result.ok ? [] : result.errors.map(formatIssue)).toEqual([]);
	});

	it('contain no phone numbers: contacts are by role and the contact list', () => {
		for (const file of shipped) expect(file.text, file.path).not.toMatch(/\b1[3-9]\d{9}\b|\b\d{3,4}-\d{7,8}\b|\b400-?\d{3}-?\d{4}\b/);
	});
});
