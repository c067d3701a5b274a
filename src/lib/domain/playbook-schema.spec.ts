import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePlaybook, type PlaybookIssue } from './playbook-schema';

const FIXTURES = new URL('../../../tests/fixtures/playbooks/', import.meta.url);

function fixture(name: string): string {
	return readFileSync(new URL(name, FIXTURES), 'utf8');
}

/** Parses a fixture that must fail and returns its issues without the (always equal) path. */
function issuesOf(name: string): Omit<PlaybookIssue, 'path'>[] {
	const path = `tests/fixtures/playbooks/${name}`;
	const result = parsePlaybook(fixture(name), path);
	if (result.ok) throw new Error(`${name} was expected to be invalid but parsed`);
	for (const issue of result.errors) expect(issue.path).toBe(path);
	return result.errors.map(({ path: _path, ...rest }) => rest);
}

/** The minimal valid fixture with one textual change, for cases that need no fixture file. */
function variant(from: string, to: string): string {
	const base = fixture('valid/minimal.yaml');
	if (!base.includes(from)) throw new Error(`minimal.yaml does not contain ${from}`);
	return base.replace(from, to);
}

function issuesOfText(text: string): PlaybookIssue[] {
	const result = parsePlaybook(text, 'inline.yaml');
	if (result.ok) throw new Error('expected the text to be invalid');
	return result.errors;
}

describe('parsePlaybook on valid files', () => {
	it('reads the minimal playbook with defaults for the optional fields', () => {
		const result = parsePlaybook(fixture('valid/minimal.yaml'), 'valid/minimal.yaml');
		expect(result.ok).toBe(true);
		if (!result.ok) return;
		const p = result.value;
		expect(p.id).toBe('minimal');
		expect(p.version).toBe(1);
		expect(p.category).toBe('database');
		expect(p.title).toEqual({ 'zh-CN': '最小预案', en: 'Minimal playbook' });
		expect(p.tags).toEqual([]);
		expect(p.decisionPoints).toEqual([]);
		expect(p.restricted).toBe(false);
		expect(p.phases[0]?.steps[0]).toEqual({
			id: 'confirm-fault',
			title: { 'zh-CN': '确认故障', en: 'Confirm the fault' },
			owner: 'technical_lead',
			timeTargetMinutes: 10,
			timeTargetFrom: 'declaration',
			mandatory: true,
			commands: [],
			checks: [],
			contacts: []
		});
		expect(p.escalation[0]).toEqual({
			when: { priority: ['P1'] },
			reportTo: ['head_office'],
			reportWithinMinutes: 30,
			updateEveryMinutes: 60,
			text: {
				'zh-CN': 'P1 事件 30 分钟内上报集团。',
				en: 'Report P1 incidents to head office within 30 minutes.'
			}
		});
	});

	it('reads every optional field of the full example', () => {
		const result = parsePlaybook(fixture('valid/full.yaml'), 'valid/full.yaml');
		expect(result.ok).toBe(true);
		if (!result.ok) return;
		const p = result.value;
		expect(p.restricted).toBe(true);
		expect(p.tags).toEqual(['unionpay', 'circuit-breaker']);
		const step = p.phases[0]?.steps[0];
		expect(step?.timeTargetMinutes).toBe(0);
		expect(step?.timeTargetFrom).toBe('phase_start');
		expect(step?.mandatory).toBe(false);
		expect(step?.details?.en).toBe('Open the breaker for the failed channel on the payment gateway.');
		expect(step?.commands).toEqual(['curl -s http://paygw.internal/actuator/health', 'grep -c TIMEOUT /app/paygw/logs/channel.log\n']);
		expect(step?.contacts).toEqual([{ role: 'vendor_liaison', party: { 'zh-CN': '银联运行值班', en: 'UnionPay operations duty desk' } }]);
		expect(p.decisionPoints[0]?.options.map((o) => o.next)).toEqual(['verify', 'continue', 'exit']);
		expect(p.communications.map((t) => t.kind)).toEqual(['internal_update', 'head_office_report', 'customer_notice']);
		expect(p.communications[1]?.subject?.['zh-CN']).toBe('【重大故障通报】{{incident.title}}');
		expect(p.escalation[0]?.when).toEqual({ priority: ['P1', 'P2'], multiRegion: true });
		expect(p.escalation[0]?.reportTo).toEqual(['head_office', 'regulator']);
		expect(p.escalation[1]?.when).toEqual({ multiRegion: false });
	});
});

describe('parsePlaybook on broken fixtures (one kind of error each)', () => {
	it('reports a YAML syntax error where the parser stopped, and nothing else', () => {
		expect(issuesOf('broken/yaml-syntax.yaml')).toEqual([
			{
				line: 12,
				column: 1,
				code: 'yaml_syntax',
				field: '',
				message: 'YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]'
			}
		]);
	});

	it('reports a key written twice in one mapping at the second occurrence', () => {
		expect(issuesOf('broken/duplicate-key.yaml')).toEqual([
			{ line: 24, column: 9, code: 'duplicate_key', field: '', message: 'key "owner" appears twice in the same mapping' }
		]);
	});

	it('reports a missing field at the line of the mapping that should hold it', () => {
		expect(issuesOf('broken/missing-field.yaml')).toEqual([
			{
				line: 19,
				column: 9,
				code: 'missing_field',
				field: 'phases[0].steps[0].owner',
				message: 'phases[0].steps[0].owner is required'
			}
		]);
	});

	it('reports a misspelt field at its key and suggests the right name', () => {
		expect(issuesOf('broken/unknown-field.yaml')).toEqual([
			{
				line: 25,
				column: 9,
				code: 'unknown_field',
				field: 'phases[0].steps[0].detail',
				message: 'phases[0].steps[0].detail is not a known field (did you mean details?)'
			}
		]);
	});

	it('reports a value of the wrong type, such as yes for a boolean', () => {
		expect(issuesOf('broken/wrong-type.yaml')).toEqual([
			{
				line: 24,
				column: 20,
				code: 'invalid_type',
				field: 'phases[0].steps[0].mandatory',
				message: 'phases[0].steps[0].mandatory must be true or false (got "yes")'
			}
		]);
	});

	it('reports a category outside the list and names the list', () => {
		expect(issuesOf('broken/invalid-value.yaml')).toEqual([
			{
				line: 4,
				column: 11,
				code: 'invalid_value',
				field: 'category',
				message: 'category must be one of database, middleware, network, datacentre, storage, payment, security, application (got "dba")'
			}
		]);
	});

	it('reports a step owner that is not an incident role', () => {
		expect(issuesOf('broken/unknown-role.yaml')).toEqual([
			{
				line: 21,
				column: 16,
				code: 'unknown_role',
				field: 'phases[0].steps[0].owner',
				message:
					'phases[0].steps[0].owner must be an incident role: incident_manager, deputy, communications_lead, scribe, technical_lead, vendor_liaison, service_desk, responder, observer (got "dba_oncall")'
			}
		]);
	});

	it('reports a step owner that the playbook does not list in roles', () => {
		expect(issuesOf('broken/undeclared-role.yaml')).toEqual([
			{
				line: 21,
				column: 16,
				code: 'undeclared_role',
				field: 'phases[0].steps[0].owner',
				message: 'phases[0].steps[0].owner "vendor_liaison" is not listed in roles'
			}
		]);
	});

	it('reports a step id reused in another phase at the second use, naming the first', () => {
		expect(issuesOf('broken/duplicate-step-id.yaml')).toEqual([
			{
				line: 28,
				column: 13,
				code: 'duplicate_step_id',
				field: 'phases[1].steps[0].id',
				message: 'phases[1].steps[0].id "confirm-fault" is already used by phases[0].steps[0].id (step ids must be unique in a playbook)'
			}
		]);
	});

	it('reports a negative time target with the value it got', () => {
		expect(issuesOf('broken/negative-time-target.yaml')).toEqual([
			{
				line: 22,
				column: 28,
				code: 'invalid_time_target',
				field: 'phases[0].steps[0].timeTargetMinutes',
				message: 'phases[0].steps[0].timeTargetMinutes must be a non-negative integer (got -5)'
			}
		]);
	});

	it('reports a missing time target at the step', () => {
		expect(issuesOf('broken/missing-time-target.yaml')).toEqual([
			{
				line: 19,
				column: 9,
				code: 'missing_field',
				field: 'phases[0].steps[0].timeTargetMinutes',
				message: 'phases[0].steps[0].timeTargetMinutes is required'
			}
		]);
	});

	it('reports an unknown placeholder at the placeholder itself', () => {
		expect(issuesOf('broken/unknown-placeholder.yaml')).toEqual([
			{
				line: 29,
				column: 56,
				code: 'unknown_placeholder',
				field: 'communications[0].body.en',
				message: 'communications[0].body.en uses unknown placeholder {{incident.owner}}; see playbooks/README.md for the list'
			}
		]);
	});

	it('reports a decision option that leads to a step that does not exist', () => {
		expect(issuesOf('broken/unknown-step.yaml')).toEqual([
			{
				line: 31,
				column: 15,
				code: 'unknown_step',
				field: 'decisionPoints[0].options[0].next',
				message: 'decisionPoints[0].options[0].next must be a step id in this playbook, continue or exit (got "switch-over")'
			}
		]);
	});

	it('reports every error in a file, in the order they appear', () => {
		const issues = issuesOf('broken/many-errors.yaml');
		expect(issues.map((i) => [i.line, i.column, i.code, i.message])).toEqual([
			[3, 10, 'invalid_value', 'version must be a positive integer (got 0)'],
			[12, 20, 'invalid_value', 'suggestedPriority must be one of P1, P2, P3, P4, P5 (got "P0")'],
			[
				21,
				16,
				'unknown_role',
				'phases[0].steps[0].owner must be an incident role: incident_manager, deputy, communications_lead, scribe, technical_lead, vendor_liaison, service_desk, responder, observer (got "dba")'
			],
			[22, 28, 'invalid_time_target', 'phases[0].steps[0].timeTargetMinutes must be a non-negative integer (got 1.5)'],
			[
				28,
				41,
				'unknown_placeholder',
				'communications[0].body.zh-CN uses unknown placeholder {{incident.tittle}} (did you mean incident.title?)'
			],
			[36, 5, 'missing_field', 'exitCriteria[0].en is required']
		]);
	});
});

describe('parsePlaybook on smaller mistakes', () => {
	it('reports an empty file as not being a mapping, at line 1 column 1', () => {
		expect(issuesOfText('')).toEqual([
			{
				path: 'inline.yaml',
				line: 1,
				column: 1,
				code: 'invalid_type',
				field: '',
				message: 'the document must be a mapping of playbook fields (id, version, title, …) (got nothing)'
			}
		]);
	});

	it('reports a second YAML document in the file', () => {
		const [issue] = issuesOfText(`${fixture('valid/minimal.yaml')}---\nid: other\n`);
		expect(issue?.code).toBe('yaml_syntax');
		expect(issue?.message).toBe('YAML syntax error: a playbook file holds one YAML document; remove the second "---"');
	});

	it('reports a required field left empty at its key', () => {
		const issues = issuesOfText(variant('services: [CORE-BANKING]', 'services:'));
		expect(issues).toMatchObject([{ line: 11, column: 1, code: 'missing_field', message: 'services is required (the value is empty)' }]);
	});

	it('reports a missing top-level field at the top of the document', () => {
		const issues = issuesOfText(variant('restricted: false\n', ''));
		expect(issues).toMatchObject([{ line: 2, column: 1, code: 'missing_field', message: 'restricted is required' }]);
	});

	it('reports a missing language in a bilingual field', () => {
		const issues = issuesOfText(variant('  en: Minimal playbook\n', ''));
		expect(issues).toMatchObject([{ line: 6, column: 3, code: 'missing_field', message: 'title.en is required' }]);
	});

	it('reports a blank translation', () => {
		const issues = issuesOfText(variant('  en: Minimal playbook', '  en: "  "'));
		expect(issues).toMatchObject([{ line: 7, column: 7, code: 'invalid_value', message: 'title.en must not be empty' }]);
	});

	it('rejects a version that is not a positive integer, including semver strings', () => {
		expect(issuesOfText(variant('version: 1', 'version: "1.2.0"'))).toMatchObject([
			{ line: 3, column: 10, code: 'invalid_type', message: 'version must be a positive integer (got "1.2.0")' }
		]);
	});

	it('rejects an id that is not kebab-case', () => {
		expect(issuesOfText(variant('id: minimal', 'id: Minimal_Playbook'))).toMatchObject([
			{ line: 2, column: 5, code: 'invalid_value', field: 'id' }
		]);
	});

	it('rejects a service code in lower case', () => {
		expect(issuesOfText(variant('services: [CORE-BANKING]', 'services: [core-banking]'))).toMatchObject([
			{
				line: 11,
				column: 12,
				code: 'invalid_value',
				message: 'services[0] must be a business service code in upper case, e.g. CORE-BANKING (got "core-banking")'
			}
		]);
	});

	it('rejects a role listed twice', () => {
		expect(
			issuesOfText(variant('roles: [incident_manager, technical_lead]', 'roles: [incident_manager, technical_lead, incident_manager]'))
		).toMatchObject([{ line: 14, column: 43, code: 'duplicate_value', message: 'roles[2] repeats "incident_manager" (already roles[0])' }]);
	});

	it('requires the incident manager among the roles', () => {
		expect(issuesOfText(variant('roles: [incident_manager, technical_lead]', 'roles: [technical_lead]'))).toMatchObject([
			{ line: 14, column: 8, code: 'invalid_value', message: 'roles must include incident_manager (every response group has one)' }
		]);
	});

	it('rejects a time target longer than a week', () => {
		expect(issuesOfText(variant('timeTargetMinutes: 10', 'timeTargetMinutes: 20000'))).toMatchObject([
			{
				code: 'invalid_time_target',
				message: 'phases[0].steps[0].timeTargetMinutes must be at most 10080 minutes (7 days) (got 20000)'
			}
		]);
	});

	it('rejects a time target written with a unit', () => {
		expect(issuesOfText(variant('timeTargetMinutes: 10', 'timeTargetMinutes: 10m'))).toMatchObject([
			{ code: 'invalid_time_target', message: 'phases[0].steps[0].timeTargetMinutes must be a non-negative integer (got "10m")' }
		]);
	});

	it('rejects a time-target origin outside declaration and phase_start', () => {
		expect(issuesOfText(variant('timeTargetFrom: declaration', 'timeTargetFrom: detection'))).toMatchObject([
			{ code: 'invalid_value', message: 'phases[0].steps[0].timeTargetFrom must be one of declaration, phase_start (got "detection")' }
		]);
	});

	it('rejects an escalation rule without any condition', () => {
		expect(issuesOfText(variant('  - when: { priority: [P1] }', '  - when: {}'))).toMatchObject([
			{
				line: 31,
				column: 11,
				code: 'missing_field',
				message: 'escalation[0].when must name at least one condition: priority or multiRegion'
			}
		]);
	});

	it('rejects an unclosed placeholder', () => {
		expect(issuesOfText(variant('{{incident.title}}"\n', '{{incident.title"\n'))).toMatchObject([
			{ line: 28, column: 41, code: 'unknown_placeholder', message: 'communications[0].body.zh-CN has a "{{" that is not closed with "}}"' }
		]);
	});

	it('rejects two templates of the same kind', () => {
		const text = variant('escalation:\n', '  - kind: internal_update\n    body: { zh-CN: 第二份, en: A second one }\nescalation:\n');
		expect(issuesOfText(text)).toMatchObject([
			{
				line: 30,
				column: 11,
				code: 'duplicate_value',
				message: 'communications[1].kind "internal_update" is already used by communications[0] (one template per kind)'
			}
		]);
	});

	it('rejects a decision point with a single option', () => {
		const text = variant(
			'communications:\n',
			'decisionPoints:\n  - id: d\n    afterStep: confirm-fault\n    question: { zh-CN: 问, en: Q }\n    options:\n      - { label: { zh-CN: 是, en: "Yes" }, next: exit }\ncommunications:\n'
		);
		expect(issuesOfText(text)).toMatchObject([
			{ line: 30, column: 7, code: 'invalid_value', message: 'decisionPoints[0].options must offer at least two options' }
		]);
	});

	it('rejects YAML aliases instead of expanding them', () => {
		const text = variant(
			'title:\n  zh-CN: 最小预案\n  en: Minimal playbook',
			'title: &t\n  zh-CN: 最小预案\n  en: Minimal playbook\nsummary: *t'
		).replace(/\nsummary:\n {2}zh-CN: .*\n {2}en: .*\n/, '\n');
		expect(issuesOfText(text)).toMatchObject([
			{
				line: 8,
				column: 10,
				code: 'invalid_value',
				message: 'summary is an alias (*t); aliases are not supported in playbooks, write the value out'
			}
		]);
	});

	it('rejects a plain command followed by a # comment, which YAML would cut off', () => {
		const text = variant(
			'        mandatory: true\n',
			'        mandatory: true\n        commands:\n          - grep -c ERR app.log # count\n'
		);
		expect(issuesOfText(text)).toMatchObject([
			{
				line: 26,
				column: 13,
				code: 'invalid_value',
				message:
					'phases[0].steps[0].commands[0] is followed by a # comment on the same line, which YAML drops from the command; quote the command if the # belongs to it, or put the note in details'
			}
		]);
	});

	it('keeps a # inside a quoted command', () => {
		const text = variant(
			'        mandatory: true\n',
			'        mandatory: true\n        commands:\n          - "grep -c ERR app.log # count"\n'
		);
		const result = parsePlaybook(text, 'inline.yaml');
		expect(result.ok && result.value.phases[0]?.steps[0]?.commands).toEqual(['grep -c ERR app.log # count']);
	});

	it('does not read yes, on or no as booleans (YAML 1.2)', () => {
		expect(issuesOfText(variant('restricted: false', 'restricted: no'))).toMatchObject([
			{ code: 'invalid_type', message: 'restricted must be true or false (got "no")' }
		]);
	});
});
