/**
 * Contingency playbooks (应急预案): the public entry point. The format and parser live in
 * `playbook-schema.ts`, the template placeholders and renderer in `playbook-template.ts`; this module
 * adds what works across files (duplicate ids) and the one-line issue format the CLI prints.
 */
import { parsePlaybookWithIdPosition, type Playbook, type PlaybookIssue } from './playbook-schema';

export * from './playbook-schema';
export * from './playbook-template';

export interface PlaybookFile {
	path: string;
	text: string;
}

export interface PlaybookCheck {
	valid: Playbook[];
	invalid: { path: string; errors: PlaybookIssue[] }[];
}

/**
 * Parses a set of playbook files. A playbook id used by more than one file makes every one of those
 * files invalid (each issue names the other files): picking a winner would depend on directory
 * order, and silently running the wrong plan in an incident is worse than refusing both. Files keep
 * the order they were given in; an invalid file's issues are sorted by position.
 */
export function checkPlaybooks(files: readonly PlaybookFile[]): PlaybookCheck {
	const parsed = files.map((file) => ({ file, ...parsePlaybookWithIdPosition(file.text, file.path) }));

	const pathsById = new Map<string, string[]>();
	for (const { file, result } of parsed) {
		if (!result.ok) continue;
		const paths = pathsById.get(result.value.id) ?? [];
		paths.push(file.path);
		pathsById.set(result.value.id, paths);
	}

	const valid: Playbook[] = [];
	const invalid: PlaybookCheck['invalid'] = [];
	for (const { file, result, idLine, idColumn } of parsed) {
		if (!result.ok) {
			invalid.push({ path: file.path, errors: result.errors });
			continue;
		}
		const others = (pathsById.get(result.value.id) ?? []).filter((p) => p !== file.path);
		if (others.length === 0) {
			valid.push(result.value);
			continue;
		}
		invalid.push({
			path: file.path,
			errors: [
				{
					path: file.path,
					line: idLine,
					column: idColumn,
					code: 'duplicate_playbook_id',
					field: 'id',
					message: `id "${result.value.id}" is also used by ${others.join(', ')} (playbook ids must be unique)`
				}
			]
		});
	}
	return { valid, invalid };
}

/** `path:line:column  message`, the shape editors and CI annotate from. */
export function formatIssue(issue: PlaybookIssue): string {
	return `${issue.path}:${issue.line}:${issue.column}  ${issue.message}`;
}
