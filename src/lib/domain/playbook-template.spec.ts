import { describe, expect, it } from 'vitest';
import { EMPTY_VALUE_MARKER, PLAYBOOK_PLACEHOLDERS, isPlaceholder, renderTemplate, scanTemplate } from './playbook-template';

describe('renderTemplate', () => {
	it('fills every placeholder with the value given for it', () => {
		const out = renderTemplate('【重大故障通报】{{incident.number}} {{incident.title}}（{{incident.priority}}）', {
			'incident.number': 'INC-20250314-0007',
			'incident.title': '核心系统数据库主库故障',
			'incident.priority': 'P1'
		});
		expect(out).toBe('【重大故障通报】INC-20250314-0007 核心系统数据库主库故障（P1）');
	});

	it('accepts spaces inside the braces', () => {
		expect(renderTemplate('ETA: {{ incident.eta }}', { 'incident.eta': '15:30' })).toBe('ETA: 15:30');
	});

	it('fills the same placeholder every time it appears', () => {
		expect(renderTemplate('{{organisation.name}} / {{organisation.name}}', { 'organisation.name': 'Demo Bank' })).toBe(
			'Demo Bank / Demo Bank'
		);
	});

	it('renders a missing, empty or blank value as the empty-value marker', () => {
		const out = renderTemplate('a={{incident.eta}} b={{incident.impact}} c={{incident.nextSteps}}', {
			'incident.impact': '',
			'incident.nextSteps': '   '
		});
		expect(out).toBe(`a=${EMPTY_VALUE_MARKER} b=${EMPTY_VALUE_MARKER} c=${EMPTY_VALUE_MARKER}`);
	});

	it('inserts replacement patterns such as $& and $1 literally', () => {
		const out = renderTemplate('title: {{incident.title}}', { 'incident.title': "$& $1 $$ $` $'" });
		expect(out).toBe("title: $& $1 $$ $` $'");
	});

	it('does not expand placeholders that appear inside a value', () => {
		const out = renderTemplate('{{incident.title}} / {{incident.impact}}', {
			'incident.title': '{{incident.impact}}',
			'incident.impact': 'secret'
		});
		expect(out).toBe('{{incident.impact}} / secret');
	});

	it('does not evaluate expressions or reach object prototype properties', () => {
		const template = '{{constructor}} {{__proto__}} {{toString}} {{incident.title.constructor}} {{1+1}}';
		const out = renderTemplate(template, { 'incident.title': 'x' });
		expect(out).toBe(template);
	});

	it('ignores values whose keys are not placeholders, even if injected through the prototype', () => {
		const values = Object.create({ 'incident.eta': 'from prototype' }) as Record<string, string>;
		expect(renderTemplate('{{incident.eta}}', values)).toBe(EMPTY_VALUE_MARKER);
	});

	it('keeps markup in values as literal text for the caller to escape', () => {
		const out = renderTemplate('{{incident.title}}', { 'incident.title': '<script>alert(1)</script>' });
		expect(out).toBe('<script>alert(1)</script>');
	});
});

describe('scanTemplate', () => {
	it('lists the placeholders a template uses with their offsets', () => {
		const { uses, problems } = scanTemplate('x {{incident.number}} y {{ organisation.name }}');
		expect(uses).toEqual([
			{ name: 'incident.number', index: 2 },
			{ name: 'organisation.name', index: 24 }
		]);
		expect(problems).toEqual([]);
	});

	it('reports a placeholder that is not in the list', () => {
		const { problems } = scanTemplate('ok {{incident.number}} bad {{incident.owner}}');
		expect(problems).toEqual([{ kind: 'unknown_placeholder', name: 'incident.owner', index: 27 }]);
	});

	it('reports a {{ that never closes', () => {
		const { problems } = scanTemplate('{{incident.number}} then {{incident.title and more');
		expect(problems).toEqual([{ kind: 'unclosed_placeholder', name: 'incident.title and more', index: 25 }]);
	});
});

describe('PLAYBOOK_PLACEHOLDERS', () => {
	it('contains the fields a head-office report needs and nothing twice', () => {
		expect(new Set(PLAYBOOK_PLACEHOLDERS).size).toBe(PLAYBOOK_PLACEHOLDERS.length);
		for (const name of ['incident.number', 'incident.nextUpdateAt', 'incident.managerPhone', 'organisation.name']) {
			expect(isPlaceholder(name)).toBe(true);
		}
		expect(isPlaceholder('incident')).toBe(false);
	});
});
