/**
 * The review's narrative in the incident's shared document: a `review` Y.Map holding one Y.Text per
 * section, written together live like the timeline. The server creates every section when the review
 * starts, so browsers only bind existing texts: two browsers each creating a missing Y.Text at once
 * would race, and the loser's typing would vanish. Pure and isomorphic.
 */
import * as Y from 'yjs';

export const REVIEW_SECTIONS = ['root_cause', 'five_whys', 'contributing_factors', 'went_well', 'went_badly', 'lucky', 'lessons'] as const;
export type ReviewSection = (typeof REVIEW_SECTIONS)[number];

/** A section is prose, not an attachment store. */
export const MAX_SECTION_CHARS = 50_000;

export function reviewMapOf(doc: Y.Doc): Y.Map<unknown> {
	return doc.getMap<unknown>('review');
}

/** Creates the sections that do not exist yet; returns how many were created. */
export function ensureReviewSections(doc: Y.Doc): number {
	const map = reviewMapOf(doc);
	let created = 0;
	doc.transact(() => {
		for (const key of REVIEW_SECTIONS) {
			if (map.get(key) instanceof Y.Text) continue;
			map.set(key, new Y.Text());
			created++;
		}
	});
	return created;
}

export function sectionText(doc: Y.Doc, key: ReviewSection): Y.Text | null {
	const v = reviewMapOf(doc).get(key);
	return v instanceof Y.Text ? v : null;
}

export function readReviewSections(doc: Y.Doc): Record<ReviewSection, string> {
	const out = {} as Record<ReviewSection, string>;
	for (const key of REVIEW_SECTIONS) out[key] = sectionText(doc, key)?.toString() ?? '';
	return out;
}
