/**
 * Reading the channel form: checkboxes for events come as repeated fields, and the typed secrets
 * are never echoed back to the browser when the form has errors.
 */
import { CHANNEL_KINDS, secretRule } from '$lib/server/notify/channels';
import { EVENT_TYPES } from '$lib/server/notify/events';
import type { ChannelInput } from '$lib/server/services/notification.service';

export function channelInput(form: FormData): { input: ChannelInput; echo: Record<string, unknown> } {
	const one = (k: string) => {
		const v = form.get(k);
		return typeof v === 'string' ? v : undefined;
	};
	const input: ChannelInput = {
		name: one('name'),
		kind: one('kind'),
		locale: one('locale'),
		enabled: one('enabled'),
		events: form.getAll('events').filter((v): v is string => typeof v === 'string'),
		url: one('url'),
		secret: one('secret'),
		clearSecret: one('clearSecret'),
		host: one('host'),
		port: one('port'),
		security: one('security'),
		username: one('username'),
		password: one('password'),
		clearPassword: one('clearPassword'),
		from: one('from'),
		to: one('to')
	};
	const { secret: _s, password: _p, ...echo } = input;
	return { input, echo };
}

/** What the form needs to know about kinds and events (the browser cannot import server code). */
export function formOptions() {
	return {
		kinds: CHANNEL_KINDS.map((kind) => ({ kind, secret: secretRule(kind) })),
		eventTypes: [...EVENT_TYPES]
	};
}
