/**
 * Drains the delivery queue: a tick every few seconds finds due rows in the database (so queued
 * messages survive a restart and any node can send them), plus an immediate nudge after `send` so
 * a message normally leaves within milliseconds rather than at the next tick.
 */
import type { AppContext } from '../context';
import { log } from '../log';
import { CLAIM_BATCH, processDueDeliveries } from '../services/notification.service';

export const WORKER_INTERVAL_MS = 2_000;

export class DeliveryWorker {
	private timer: ReturnType<typeof setInterval> | undefined;
	private running: Promise<void> | undefined;
	private again = false;
	private stopped = false;

	constructor(
		private readonly ctx: AppContext,
		private readonly opts: { intervalMs?: number; timeoutMs?: number } = {}
	) {}

	start(): void {
		if (this.timer || this.stopped) return;
		this.timer = setInterval(() => this.nudge(), this.opts.intervalMs ?? WORKER_INTERVAL_MS);
		// Do not keep a process alive that is otherwise done (tests, CLI).
		this.timer.unref?.();
		this.nudge();
	}

	get started(): boolean {
		return !!this.timer;
	}

	/** Runs a pass now, or right after the one in progress (never two at once in one process). */
	nudge(): void {
		if (this.stopped || !this.timer) return;
		if (this.running) {
			this.again = true;
			return;
		}
		this.running = this.loop().finally(() => (this.running = undefined));
	}

	private async loop(): Promise<void> {
		do {
			this.again = false;
			try {
				const done = await processDueDeliveries(this.ctx, { timeoutMs: this.opts.timeoutMs });
				// A full batch means more may be due: go again without waiting for the timer.
				if (done.length >= CLAIM_BATCH) this.again = true;
			} catch (error) {
				log.error('notification worker tick failed', { error });
			}
		} while (this.again && !this.stopped);
	}

	/** Stops the timer and waits for the pass in progress (its posts are bounded by the timeout). */
	async stop(): Promise<void> {
		this.stopped = true;
		if (this.timer) clearInterval(this.timer);
		this.timer = undefined;
		await this.running;
	}
}
