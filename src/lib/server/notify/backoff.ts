/**
 * Retry schedule for outbound deliveries. A receiver that is down for a few minutes (a robot
 * rate limit, a webhook being redeployed) gets the message late rather than never; one that is down
 * for hours is given up on after about 2 h 42 min, and the admin sees it in the delivery log.
 */
export const RETRY_DELAYS_MS = [30_000, 2 * 60_000, 10 * 60_000, 30 * 60_000, 2 * 3_600_000] as const;

/** First attempt plus one per delay above. */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** How long one HTTP post or SMTP conversation may take before it counts as failed. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * When to try again after `attempts` failed attempts (1 = the first failed), or null when the
 * delivery has used up `maxAttempts`.
 */
export function nextAttemptAt(opts: { attempts: number; maxAttempts: number; now: Date }): Date | null {
	if (opts.attempts >= opts.maxAttempts) return null;
	const delay = RETRY_DELAYS_MS[Math.min(opts.attempts, RETRY_DELAYS_MS.length) - 1] ?? RETRY_DELAYS_MS[RETRY_DELAYS_MS.length - 1]!;
	return new Date(opts.now.getTime() + delay);
}

/**
 * Whether an HTTP status is worth retrying. Server errors, timeouts and rate limits are; other
 * client errors (a wrong URL, a rejected body) will fail the same way every time, so the delivery
 * is marked failed at once and the admin fixes the channel.
 */
export function retryableStatus(status: number): boolean {
	return status >= 500 || status === 408 || status === 425 || status === 429;
}
