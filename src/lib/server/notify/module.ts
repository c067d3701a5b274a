/**
 * Installs notifications on the app: `ctx.notify`, the delivery worker (with the scheduled jobs,
 * so a web-only node with WARROOM_JOBS=0 queues but does not post), and closing the live streams
 * on shutdown so the server can drain.
 */
import type { App } from '../app';
import { Notifier } from './notifier';
import { DeliveryWorker } from './worker';

const streamsClosing = new AbortController();

/** Aborted when the app shuts down: open notification streams end so sockets can drain. */
export function notificationStreamsSignal(): AbortSignal {
	return streamsClosing.signal;
}

export function notifyModule(app: App): void {
	const worker = new DeliveryWorker(app.ctx);
	app.ctx.notify = new Notifier(app.ctx, worker);
	app.onStartJobs(() => worker.start());
	app.onShutdown(async () => {
		streamsClosing.abort();
		await worker.stop();
	});
}
