/**
 * One ticking "now" for a board: countdowns and durations are computed in the browser from absolute
 * instants, so the server never has to push a change just because time passed.
 */
export class Ticker {
	now = $state(Date.now());
	private timer: ReturnType<typeof setInterval> | undefined;

	constructor(private readonly everyMs = 1000) {}

	start(): () => void {
		this.timer = setInterval(() => (this.now = Date.now()), this.everyMs);
		return () => this.stop();
	}

	stop(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = undefined;
	}
}
