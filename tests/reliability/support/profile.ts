/** Quick (default, CI) or full (the numbers). */
export const PROFILE: 'quick' | 'full' = process.env.RELIABILITY_PROFILE === 'full' ? 'full' : 'quick';
export const isFull = PROFILE === 'full';
export function pick<T>(quick: T, full: T): T {
	return isFull ? full : quick;
}

/** Figures collected during a suite, printed as one line at the end. */
export class Figures {
	private parts: string[] = [];
	constructor(private readonly suite: string) {}
	add(part: string): void {
		this.parts.push(part);
	}
	line(): string {
		return `${this.suite} [${PROFILE}]: ${this.parts.join('; ')}`;
	}
	print(): void {
		// Printed to stdout on its own, so CI logs can be grepped for it.
		process.stdout.write(`\n${this.line()}\n`);
	}
}

export function percentile(values: number[], p: number): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(values: number[]): number {
	return percentile(values, 50);
}
