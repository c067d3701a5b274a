/**
 * Communication templates in playbooks: `{{placeholder}}` substitution, nothing more.
 *
 * A template is plain text written by the people who maintain the playbooks; the values come from an
 * incident record typed by responders. Neither side is trusted to run anything: there are no
 * expressions, filters, conditionals, partials or nested look-ups, a value is inserted literally and
 * never scanned again, and only the names in `PLAYBOOK_PLACEHOLDERS` are ever looked up (so
 * `{{constructor}}` or `{{__proto__}}` cannot reach `Object.prototype`). The output is plain text: a
 * caller that puts it into HTML must escape it (Svelte's `{text}` does).
 */

/**
 * The placeholders a template may use. Each is filled from the incident the playbook runs for; the
 * caller formats the values (times in the organisation's time zone, names, lists) in the language of
 * the template being rendered.
 */
export const PLAYBOOK_PLACEHOLDERS = [
	'incident.number', // 事件编号, e.g. INC-20250314-0007
	'incident.title', // 事件标题
	'incident.priority', // P1–P5
	'incident.status', // current status, in the template's language
	'incident.startedAt', // 故障开始时间 (impact start), formatted
	'incident.detectedAt', // 发现时间, formatted
	'incident.services', // affected business services, comma-separated
	'incident.impact', // business impact: users, branches, regions, transactions
	'incident.manager', // 事件经理 name
	'incident.managerPhone', // how to reach the incident manager (from the contact list)
	'incident.nextUpdateAt', // when the next update will be sent, formatted
	'incident.actionsTaken', // 已采取措施
	'incident.nextSteps', // 下一步计划
	'incident.eta', // 预计恢复时间, formatted, or text such as "under assessment"
	'organisation.name' // the operating organisation, e.g. 某某银行股份有限公司
] as const;
export type Placeholder = (typeof PLAYBOOK_PLACEHOLDERS)[number];

/** What a placeholder renders as when the incident has no value for it yet (or only blanks). */
export const EMPTY_VALUE_MARKER = '—';

const PLACEHOLDER_SET: ReadonlySet<string> = new Set(PLAYBOOK_PLACEHOLDERS);

export function isPlaceholder(name: string): name is Placeholder {
	return PLACEHOLDER_SET.has(name);
}

/**
 * `{{ name }}`: the name is anything up to the first `}`, so `{{ incident.title | upper }}` is one
 * (unknown) placeholder rather than something half-understood. Kept in one place so the validator
 * and the renderer agree on what a placeholder is.
 */
const PLACEHOLDER_PATTERN = /\{\{([^{}]*)\}\}/g;

/** A placeholder found in a template, with its character offset (for error positions). */
export interface PlaceholderUse {
	name: string;
	/** Offset of the opening `{{` in the template string. */
	index: number;
}

/** A problem in the template text itself, found by `scanTemplate`. */
export interface TemplateProblem {
	kind: 'unknown_placeholder' | 'unclosed_placeholder';
	/** The placeholder name as written (trimmed), or the text after an unclosed `{{`. */
	name: string;
	index: number;
}

/**
 * Lists the placeholders a template uses and what is wrong with it: names not in
 * `PLAYBOOK_PLACEHOLDERS`, and a `{{` that never closes (which would otherwise reach a head-office
 * report as literal braces).
 */
export function scanTemplate(template: string): { uses: PlaceholderUse[]; problems: TemplateProblem[] } {
	const uses: PlaceholderUse[] = [];
	const problems: TemplateProblem[] = [];
	const closedStarts = new Set<number>();
	for (const match of template.matchAll(PLACEHOLDER_PATTERN)) {
		const name = (match[1] ?? '').trim();
		const index = match.index;
		closedStarts.add(index);
		uses.push({ name, index });
		if (!isPlaceholder(name)) problems.push({ kind: 'unknown_placeholder', name, index });
	}
	// Any `{{` that is not the start of a complete `{{…}}` is unclosed (or contains a brace).
	let from = 0;
	for (;;) {
		const index = template.indexOf('{{', from);
		if (index < 0) break;
		if (!closedStarts.has(index)) {
			problems.push({
				kind: 'unclosed_placeholder',
				name: template.slice(index + 2, index + 32).split('\n')[0] ?? '',
				index
			});
			from = index + 2;
		} else {
			from = template.indexOf('}}', index) + 2;
		}
	}
	problems.sort((a, b) => a.index - b.index);
	return { uses, problems };
}

/**
 * Fills `{{placeholder}}`s with the given values. A missing, empty or blank value renders as
 * `EMPTY_VALUE_MARKER`, so a report never silently drops a field. A name that is not a known
 * placeholder is left exactly as written (validation rejects such templates; leaving it visible is
 * safer than guessing). Values are inserted verbatim: `$&`, `{{…}}` or markup inside a value stay
 * literal text.
 */
export function renderTemplate(template: string, values: Partial<Record<Placeholder, string>>): string {
	return template.replace(PLACEHOLDER_PATTERN, (whole, rawName: string) => {
		const name = rawName.trim();
		if (!isPlaceholder(name)) return whole;
		const value = Object.hasOwn(values, name) ? values[name] : undefined;
		return typeof value === 'string' && value.trim() !== '' ? value : EMPTY_VALUE_MARKER;
	});
}
