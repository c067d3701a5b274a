import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** What the mocked SvelteKit modules see: a navigation in flight (`to`), and the reloads asked for. */
const kit = vi.hoisted(() => ({ to: null as { url: URL } | null, reloads: 0 }));
vi.mock('$app/navigation', () => ({
	invalidateAll: async () => {
		kit.reloads++;
	}
}));
vi.mock('$app/state', () => ({
	navigating: {
		get to() {
			return kit.to;
		}
	}
}));

/** The browser's EventSource, reduced to what LiveRefresh uses; `emit` delivers a server-sent event. */
class FakeEventSource {
	static last: FakeEventSource | undefined;
	onopen: (() => void) | null = null;
	onerror: (() => void) | null = null;
	closed = false;
	private readonly listeners = new Map<string, ((e: { data: string }) => void)[]>();
	constructor(readonly url: string) {
		FakeEventSource.last = this;
	}
	addEventListener(type: string, fn: (e: { data: string }) => void): void {
		this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
	}
	close(): void {
		this.closed = true;
	}
	emit(type: string, message: unknown): void {
		for (const fn of this.listeners.get(type) ?? []) fn({ data: JSON.stringify(message) });
	}
}

describe('LiveRefresh', () => {
	beforeEach(() => {
		vi.useFakeTimers();
		vi.stubGlobal('EventSource', FakeEventSource);
		kit.to = null;
		kit.reloads = 0;
	});
	afterEach(() => {
		vi.useRealTimers();
		vi.unstubAllGlobals();
	});

	it("reloads the page's data once per burst of relevant events, and ignores the others", async () => {
		const { LiveRefresh } = await import('./live.svelte');
		const live = new LiveRefresh((m) => m.type === 'incident' && m.incidentId === 'a');
		const stop = live.start();
		const source = FakeEventSource.last!;
		source.emit('incident', { type: 'incident', incidentId: 'b' });
		vi.advanceTimersByTime(500);
		expect(kit.reloads).toBe(0);
		for (let i = 0; i < 5; i++) source.emit('incident', { type: 'incident', incidentId: 'a' });
		vi.advanceTimersByTime(149);
		expect(kit.reloads).toBe(0);
		vi.advanceTimersByTime(1);
		expect(kit.reloads).toBe(1);
		stop();
		expect(source.closed).toBe(true);
	});

	it('waits for a navigation in flight instead of cancelling it, then reloads once', async () => {
		const { LiveRefresh } = await import('./live.svelte');
		const live = new LiveRefresh();
		live.start();
		const source = FakeEventSource.last!;
		source.emit('board', { type: 'board' });
		// Someone clicks a link while the reload is due: SvelteKit would drop the click for the reload.
		kit.to = { url: new URL('http://localhost/incidents/a/review') };
		vi.advanceTimersByTime(1_000);
		expect(kit.reloads).toBe(0);
		// The navigation ended on a page that still listens (the same route): it reloads then.
		kit.to = null;
		vi.advanceTimersByTime(150);
		expect(kit.reloads).toBe(1);
		live.stop();
	});

	it('drops the reload it was waiting to make when the page stops listening', async () => {
		const { LiveRefresh } = await import('./live.svelte');
		const live = new LiveRefresh();
		live.start();
		FakeEventSource.last!.emit('notification', { type: 'notification' });
		kit.to = { url: new URL('http://localhost/board') };
		vi.advanceTimersByTime(300);
		live.stop();
		kit.to = null;
		vi.advanceTimersByTime(1_000);
		expect(kit.reloads).toBe(0);
	});
});
