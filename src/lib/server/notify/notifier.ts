/**
 * The `NotifyPort` other services call (`ctx.notify?.send(...)`), backed by the notification
 * service and the delivery worker.
 */
import type { AppContext, NotifyInput, NotifyPort } from '../context';
import { log } from '../log';
import { send } from '../services/notification.service';
import type { DeliveryWorker } from './worker';

export class Notifier implements NotifyPort {
	constructor(
		private readonly ctx: AppContext,
		private readonly worker?: DeliveryWorker
	) {}

	/**
	 * Records the in-app notifications and queues the outbound deliveries, then returns; the
	 * worker posts them. Never throws: callers send after their own commit, and a notification
	 * problem must not turn a committed change into an error for the user. Bad input (a programming
	 * error) and database failures are logged with the event.
	 */
	async send(input: NotifyInput): Promise<void> {
		try {
			const { deliveries } = await send(this.ctx, input);
			if (deliveries.length > 0) this.worker?.nudge();
		} catch (error) {
			log.error('notification could not be recorded', {
				event: input.event,
				incidentId: input.incidentId,
				dedupeKey: input.dedupeKey,
				error
			});
		}
	}
}
