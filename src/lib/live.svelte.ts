/**
 * Keeps a page's data fresh: listens to /api/events (server-sent events; the browser reconnects by
 * itself after a drop) and re-runs the page's loads when something relevant changes. A refresh on
 * every reconnect makes sure nothing that happened while disconnected is missed.
 */
import { invalidateAll } from '$app/navigation';
import { navigating } from '$app/state';

export class LiveRefresh {
	connected = $state(false);
	private source: EventSource | undefined;
	private pending: ReturnType<typeof setTimeout> | undefined;

	constructor(private readonly accept: (m: { type: string; incidentId?: string }) => boolean = () => true) {}

	start(): () => void {
		const source = new EventSource('/api/events');
		this.source = source;
		let opened = false;
		source.onopen = () => {
			this.connected = true;
			if (opened) this.refresh();
			opened = true;
		};
		source.onerror = () => {
			this.connected = false;
		};
		for (const type of ['incident', 'board', 'notification'])
			source.addEventListener(type, (e) => {
				try {
					const m = JSON.parse((e as MessageEvent<string>).data) as { type: string; incidentId?: string };
					if (this.accept(m)) this.refresh();
				} catch {
					// A malformed message is ignored; the next one refreshes anyway.
				}
			});
		return () => this.stop();
	}

	/**
	 * Coalesce bursts of events into one reload. Never while a navigation is in flight: SvelteKit lets
	 * the later of a reload and a navigation win, so a reload would cancel the link someone just clicked
	 * (a busy incident's events arrive every few seconds). It waits for the navigation to end; a page
	 * the navigation leaves stops this, and the page it opens loads fresh.
	 */
	private refresh(): void {
		if (this.pending) return;
		this.pending = setTimeout(() => {
			this.pending = undefined;
			if (navigating.to) this.refresh();
			else void invalidateAll();
		}, 150);
	}

	stop(): void {
		this.source?.close();
		this.source = undefined;
		if (this.pending) clearTimeout(this.pending);
	}
}
