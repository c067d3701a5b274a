import { describe, expect, it } from 'vitest';
import { EventBus, type AppEvent } from './events';

describe('EventBus', () => {
	it('hands what this process publishes to its subscribers and to the relay, and what the relay delivers only to its subscribers', () => {
		const bus = new EventBus();
		const heard: AppEvent[] = [];
		const relayed: AppEvent[] = [];
		bus.subscribe((e) => heard.push(e));
		const detach = bus.relayTo((e) => relayed.push(e));
		const local: AppEvent = { type: 'user.changed', userId: 'u1' };
		const remote: AppEvent = { type: 'board.changed', incidentId: null };
		bus.publish(local);
		bus.deliver(remote);
		expect(heard).toEqual([local, remote]);
		expect(relayed).toEqual([local]);

		detach();
		bus.publish(local);
		expect(relayed).toEqual([local]);
		expect(heard).toHaveLength(3);
	});

	it('takes one relay at a time', () => {
		const bus = new EventBus();
		const detach = bus.relayTo(() => undefined);
		expect(() => bus.relayTo(() => undefined)).toThrow('a relay is already attached');
		detach();
		expect(() => bus.relayTo(() => undefined)).not.toThrow();
	});

	it('keeps going when a subscriber throws', () => {
		const bus = new EventBus();
		const heard: string[] = [];
		bus.subscribe(() => {
			throw new Error('broken subscriber');
		});
		bus.subscribe((e) => heard.push(e.type));
		const stderr = process.stderr.write;
		process.stderr.write = (() => true) as typeof process.stderr.write;
		try {
			bus.publish({ type: 'events.missed' });
		} finally {
			process.stderr.write = stderr;
		}
		expect(heard).toEqual(['events.missed']);
	});
});
