/**
 * Message catalogues are split by feature (messages/<feature>.ts) so features can be added without
 * touching one big file. `defineMessages` makes TypeScript insist that zh-CN and en have exactly the
 * same keys; a unit test checks that every key used in the code exists.
 */
export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export type Catalogue = Record<string, string>;

export function defineMessages<const E extends Catalogue>(m: { en: E; 'zh-CN': { [K in keyof E]: string } }) {
	return m;
}
