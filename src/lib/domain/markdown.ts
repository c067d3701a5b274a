/**
 * Someone's text placed in a Markdown export, kept as text: shared by the review and monthly report
 * exports (review-document.ts) and the timeline export (collab/incident-doc.ts). Pure.
 *
 * HTML is written as entities, not with backslashes: Markdown passes raw HTML through, and not every
 * renderer honours `\<` (the original Markdown.pl does not), so `\<img onerror=…>` could still run
 * there, while `&lt;img …>` is text in all of them. Markdown punctuation gets a backslash.
 */
export function markdownText(text: string): string {
	return text
		.replace(/\r\n?/g, '\n')
		.replace(/&/g, '&amp;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;')
		.replace(/([\\`*_[\]|~#])/g, '\\$1');
}

/**
 * Lines of text that stay paragraph lines: a leading "#", "-", "+", "=" or "1." does not start a
 * heading, a list ("1." becomes "1\\.") or a setext underline (a leading ">" is already an entity, so no quote).
 */
export function markdownLines(text: string): string[] {
	return markdownText(text)
		.split('\n')
		.map((line) => line.replace(/^(\s*)([+=-])/, '$1\\$2').replace(/^(\s*\d+)([.)])/, '$1\\$2'));
}
