import { getContext, setContext } from 'svelte';
import type { I18n } from './index';

const KEY = Symbol('i18n');

/** The root layout provides the translator; a getter so a language switch updates every component. */
export function provideI18n(get: () => I18n): void {
	setContext(KEY, get);
}

export function useI18n(): I18n {
	const get = getContext<(() => I18n) | undefined>(KEY);
	if (!get) throw new Error('useI18n() outside the root layout');
	return {
		get locale() {
			return get().locale;
		},
		get timeZone() {
			return get().timeZone;
		},
		t: (key, params) => get().t(key, params),
		dateTime: (v) => get().dateTime(v),
		time: (v) => get().time(v),
		duration: (ms) => get().duration(ms)
	};
}
