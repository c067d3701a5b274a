/**
 * The event types a channel can subscribe to. Services pass one of these as `NotifyInput.event`;
 * the admin page shows them as checkboxes. A channel subscribed to `*` receives all of them.
 */
export const EVENT_TYPES = [
	'incident.proposed',
	'incident.declared',
	'incident.status_changed',
	'incident.priority_changed',
	'member.paged',
	'member.reminder',
	'report.submitted',
	'report.approved',
	'report.returned',
	'report.acknowledged',
	'update.requested',
	'status_update.approved',
	'clock.warning',
	'clock.breached',
	'action_item.due',
	'review.published',
	'survey.sent'
] as const;

export type NotifyEventType = (typeof EVENT_TYPES)[number];

export const ALL_EVENTS = '*';

/** The event of a "Send test" delivery; no channel subscribes to it, the admin asks for it. */
export const TEST_EVENT = 'channel.test';

export function isEventType(v: unknown): v is NotifyEventType {
	return typeof v === 'string' && (EVENT_TYPES as readonly string[]).includes(v);
}

export function subscribes(events: readonly string[], event: string): boolean {
	return events.includes(ALL_EVENTS) || events.includes(event);
}
