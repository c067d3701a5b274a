/**
 * Many concurrent incidents (issue 9): R rooms, each with one or two small clients that write a few
 * timeline entries and then sit idle. Measures the server's resident memory per room (RSS delta after
 * a settle period, divided by R: targets expose no GC hook, so this is what the process holds), then
 * all clients leave and we watch whether the rooms are freed: for ours through the loaded-room count
 * on `/api/health` (target: none loaded 60 s after the last client left), for the others only the RSS
 * (they keep no room once empty, by design, but expose nothing to prove it).
 */
import { randomUUID } from 'node:crypto';
import { createEntry } from '../../../src/lib/collab/incident-doc';
import type { Point, RunningTarget, ScenarioContext } from '../types';
import type { Scenario } from './index';
import { healthStats, lagGuard, openClients, sleep } from './sync-client';

const NAME = 'rooms';
/** How long we watch for the rooms to be freed (the target is 60 s). */
const UNLOAD_WATCH_MS = 75_000;

async function run(target: RunningTarget, ctx: ScenarioContext): Promise<Point[]> {
	const roomCount = ctx.quick ? 100 : 1000;
	const settleMs = ctx.quick ? 3_000 : 8_000;
	const row = `R = ${roomCount}`;
	const names = await target.rooms(roomCount);
	// One client per room, a second one in every other room.
	const slots = names.flatMap((room, r) => (r % 2 === 0 ? [room, room] : [room]));
	await sleep(settleMs);
	const rssBefore = await target.rssBytes();
	const guard = lagGuard();
	const clients = await openClients(
		(i) => ({ url: target.wsUrl(slots[i]!), headers: target.clientHeaders?.(i) ?? target.headers(), awareness: true }),
		slots.length
	);
	const points: Point[] = [];
	try {
		// A few small entries per client, as people do when an incident opens.
		for (const [i, c] of clients.entries()) {
			for (let k = 0; k < 3; k++) {
				c.change((doc) =>
					createEntry(doc, {
						id: randomUUID(),
						at: new Date().toISOString(),
						recordedAt: new Date().toISOString(),
						kind: 'observation',
						text: `Client ${i}: step ${k} checked, latency back to normal on the east cluster`,
						author: null,
						authorName: `client ${i}`
					})
				);
			}
		}
		await sleep(settleMs);
		const rssOpen = await target.rssBytes();
		const stats = await healthStats(target.wsUrl(names[0]!));
		const lag = guard.stop();
		const perRoom = (rssOpen - rssBefore) / roomCount;
		ctx.log(
			`${target.name} ${row}: ${clients.length} clients, RSS ${(rssBefore / 2 ** 20).toFixed(1)} → ${(rssOpen / 2 ** 20).toFixed(1)} MiB, ` +
				`${(perRoom / 1024).toFixed(1)} KiB/room${stats ? `, ${stats.rooms} rooms loaded` : ''}`
		);
		points.push({
			scenario: NAME,
			row,
			measure: 'KiB/room (RSS)',
			target: target.name,
			value: perRoom / 1024,
			better: 'lower',
			discarded: lag.lagged,
			note: `${clients.length} clients in ${roomCount} rooms; RSS delta after ${settleMs / 1000} s settle, no forced GC`
		});
	} finally {
		await Promise.all(clients.map((c) => c.close()));
	}
	const left = performance.now();
	// Ours says how many rooms it holds; for the others only the RSS can be watched.
	let unloadedAfter = NaN;
	const baseline = 0;
	const first = await healthStats(target.wsUrl(names[0]!));
	if (first) {
		while (performance.now() - left < UNLOAD_WATCH_MS) {
			const s = await healthStats(target.wsUrl(names[0]!));
			if (s && s.rooms <= baseline) {
				unloadedAfter = (performance.now() - left) / 1000;
				break;
			}
			await sleep(500);
		}
		ctx.log(
			`${target.name} ${row}: ${Number.isNaN(unloadedAfter) ? `rooms still loaded after ${UNLOAD_WATCH_MS / 1000} s` : `no room loaded ${unloadedAfter.toFixed(1)} s after the last client left`}`
		);
	} else {
		await sleep(ctx.quick ? 5_000 : 15_000);
	}
	const rssAfter = await target.rssBytes();
	points.push({
		scenario: NAME,
		row,
		measure: 's until no room loaded',
		target: target.name,
		value: first ? (Number.isNaN(unloadedAfter) ? Infinity : unloadedAfter) : NaN,
		better: 'lower',
		note: first
			? 'from /api/health collabStats.rooms'
			: 'n/a: the target exposes no room count (it drops a room when its last client leaves)'
	});
	points.push({
		scenario: NAME,
		row,
		measure: 'RSS after leaving, MiB over start',
		target: target.name,
		value: (rssAfter - rssBefore) / 2 ** 20,
		better: 'lower',
		note: 'RSS rarely shrinks (the heap keeps its pages); a value near the open-rooms figure is not by itself a leak'
	});
	return points;
}

export const rooms: Scenario = {
	name: NAME,
	title: 'Many concurrent incidents: memory per room, rooms freed',
	description:
		'R rooms with one or two clients each writing three small timeline entries, then idle: server RSS delta per room after a settle period (no forced GC). Then every client leaves: ours reports its loaded rooms on /api/health (time until none); the others expose nothing but RSS.',
	run
};
