/**
 * Many concurrent incidents (issue 9): R rooms, each with one or two small clients (a real Y.Doc, an
 * awareness state like a browser tab) that write three timeline entries each and then sit idle.
 * Measures the server's memory per room: the difference with and without the rooms open, each taken
 * after a full garbage collection forced in the server (targets/gc-hook.mjs), divided by the rooms the
 * server reports it loaded — as RSS, as RSS less what V8's young generation grew by (a per-process cost
 * that a burst sets, up to 32 MiB, in every target), and as V8 heap + external. Checks that the two clients of every
 * two-client room converged; then all clients leave and we watch the server's own room count until no
 * room is loaded: ours through `/api/health` (target: none loaded 60 s after the last client left), the
 * others through the `/bench-stats` route of their launcher script.
 */
import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import { createEntry, timelineOf } from '../../../src/lib/collab/incident-doc';
import { drain, sleep } from '../harness/load';
import type { Point, RunningTarget, ScenarioContext, TargetMemory } from '../types';
import type { Scenario } from './index';
import { openClients } from './sync-client';

const NAME = 'rooms';
const PER_ROOM = 'KiB/room (RSS)';
const PER_ROOM_LESS_YOUNG = 'KiB/room (RSS less young generation)';
const PER_ROOM_HEAP = 'KiB/room (heap + external)';
const UNLOADED = 's until no room loaded';
const ENTRIES_PER_CLIENT = 3;
/** The issue's targets for ours. */
const GOAL_KB_PER_ROOM = 50;
const GOAL_UNLOAD_S = 60;

const js = (m: TargetMemory) => m.heapUsed + m.external;
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const kib = (b: number) => (b / 1024).toFixed(1);

async function run(target: RunningTarget, ctx: ScenarioContext): Promise<Point[]> {
	const roomCount = ctx.quick ? 200 : 1000;
	const settleMs = ctx.quick ? 1_000 : 5_000;
	// "Idle": no edit for this long before the memory is read. Ours hibernates a document untouched for
	// 10 s (checked every 5 s), so the full run waits 16 s; quick reads it at 1 s, before that.
	const idleMs = ctx.quick ? 1_000 : 16_000;
	// Watch for as long as the target's own release delay, and then some: quick only checks it happened.
	const release = target.roomRelease.afterMs;
	const watchMs = (Number.isFinite(release) ? release : 0) + (ctx.quick ? 5_000 : 45_000);
	const row = `R = ${roomCount}`;
	const names = await target.rooms(roomCount);
	// One client per room, a second one in every other room.
	const slots = names.flatMap((room, r) => (r % 2 === 0 ? [room, room] : [room]));
	// Let the previous scenario's sockets go before the baseline.
	await sleep(settleMs);
	const before = await target.stats();
	const memBefore = await target.memory();
	const clients = await openClients((i) => ({ target, room: slots[i]!, index: i, awareness: true }), slots.length);
	const points: Point[] = [];
	try {
		// A few small entries per client, as people do when an incident opens.
		for (const [i, c] of clients.entries()) {
			for (let k = 0; k < ENTRIES_PER_CLIENT; k++) {
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
		// Convergence: the two clients of every two-client room hold the same document with all six entries.
		const pairs = clients.flatMap((c, i) =>
			i + 1 < clients.length && slots[i + 1] === slots[i] && (i === 0 || slots[i - 1] !== slots[i]) ? [[c, clients[i + 1]!]] : []
		);
		const converged = ([a, b]: (typeof pairs)[number]) =>
			timelineOf(a!.doc).length === 2 * ENTRIES_PER_CLIENT &&
			timelineOf(b!.doc).length === 2 * ENTRIES_PER_CLIENT &&
			Buffer.from(Y.encodeStateVector(a!.doc)).equals(Y.encodeStateVector(b!.doc));
		await drain(() => pairs.every(converged), 15_000);
		const apart = pairs.filter((p) => !converged(p)).length;
		const convergence =
			apart === 0
				? `converged in all ${pairs.length} two-client rooms`
				: `NOT converged in ${apart} of ${pairs.length} two-client rooms (${2 * ENTRIES_PER_CLIENT} entries expected in each)`;
		ctx.check(`${row}: the two clients of every two-client room converged`, apart === 0, convergence);
		await sleep(idleMs);
		const open = await target.stats();
		const memOpen = await target.memory();
		// The server must hold every room we opened. Divide by the rooms it added: ours may unload an
		// earlier scenario's room meanwhile, which the memory difference includes too.
		if (open.rooms < roomCount) throw new Error(`${target.name}: only ${open.rooms} rooms loaded with clients in ${roomCount}`);
		const added = open.rooms - before.rooms;
		const perRoom = (memOpen.rss - memBefore.rss) / added;
		const perRoomHeap = (js(memOpen) - js(memBefore)) / added;
		// V8 grows its young generation (new space) in a burst of allocations, from 1–8 MiB up to 32 MiB,
		// and keeps it while anything allocates (here: every tab renewing its awareness), whatever the
		// server: a cost of the process, sized by its allocation history, not by its rooms.
		const youngGrowth = memOpen.young - memBefore.young;
		const perRoomLessYoung = (memOpen.rss - memBefore.rss - youngGrowth) / added;
		ctx.log(
			`${target.name} ${row}: ${clients.length} clients; after GC: RSS ${mib(memBefore.rss)} → ${mib(memOpen.rss)} MiB (young generation ${mib(memBefore.young)} → ${mib(memOpen.young)} MiB), heap + external ${mib(js(memBefore))} → ${mib(js(memOpen))} MiB; ` +
				`rooms loaded ${before.rooms} → ${open.rooms}${'hibernating' in open ? ` (${String(open.hibernating)} hibernating)` : ''}, sockets ${open.connections}: ${kib(perRoom)} KiB/room RSS (${kib(perRoomLessYoung)} less the young generation), ${kib(perRoomHeap)} KiB/room heap; ${convergence}`
		);
		const base = { scenario: NAME, row, target: target.name, better: 'lower' as const };
		points.push(
			{
				...base,
				measure: PER_ROOM,
				value: perRoom / 1024,
				note: `${clients.length} clients in ${roomCount} rooms, ${ENTRIES_PER_CLIENT} entries and an awareness state each; memory after a forced full GC, ${idleMs / 1000} s after the writes, minus the same before the clients came, per room the server added`
			},
			{
				...base,
				measure: PER_ROOM_LESS_YOUNG,
				value: perRoomLessYoung / 1024,
				note: `the RSS difference less what V8's young generation grew by (${mib(memBefore.young)} → ${mib(memOpen.young)} MiB here): it grows to 32 MiB in a burst of allocations and stays while anything allocates, in every target, so it moves the RSS per room by up to 32 KiB from one run to the next without a room in it`
			},
			{
				...base,
				measure: PER_ROOM_HEAP,
				value: perRoomHeap / 1024,
				note: 'heap + external (V8 heap in use, Buffers) is the steadier figure: RSS also moves with the pages the process kept or returned since earlier scenarios (the 1,000-client points)'
			}
		);
	} finally {
		await Promise.all(clients.map((c) => c.close()));
	}
	const left = performance.now();
	let unloadedAfter = NaN;
	let last = await target.stats();
	while (last.rooms > 0 && performance.now() - left < watchMs) {
		await sleep(ctx.quick ? 250 : 500);
		last = await target.stats();
	}
	if (last.rooms === 0) unloadedAfter = (performance.now() - left) / 1000;
	const memAfter = await target.memory();
	ctx.log(
		`${target.name} ${row}: ${Number.isNaN(unloadedAfter) ? `${last.rooms} rooms still loaded ${(watchMs / 1000).toFixed(0)} s after the last client left` : `no room loaded ${unloadedAfter.toFixed(1)} s after the last client left`}; ` +
			`after GC: RSS ${mib(memAfter.rss)} MiB, heap + external ${mib(js(memAfter))} MiB`
	);
	points.push(
		{
			scenario: NAME,
			row,
			measure: UNLOADED,
			target: target.name,
			value: Number.isNaN(unloadedAfter) ? watchMs / 1000 : unloadedAfter,
			atLeast: Number.isNaN(unloadedAfter),
			better: 'lower',
			noRatio: true,
			note: `${target.roomRelease.note}; watched for ${(watchMs / 1000).toFixed(0)} s`
		},
		{
			scenario: NAME,
			row,
			measure: 'heap + external after leaving, MiB over start',
			target: target.name,
			value: (js(memAfter) - js(memBefore)) / 2 ** 20,
			better: 'lower',
			noRatio: true,
			note: 'after a forced GC once the watch ended: what the rooms left behind (near 0 when they were freed)'
		}
	);
	return points;
}

export const rooms: Scenario = {
	name: NAME,
	title: 'Many concurrent incidents: memory per room, rooms freed',
	description:
		`R rooms with one or two clients each (a Y.Doc and an awareness state, like a browser tab) writing ${ENTRIES_PER_CLIENT} small timeline entries, then idle. Memory per room: the server's memory with the rooms open minus before the clients came, both after a full GC forced in the server (a preloaded SIGUSR2 hook), divided by the rooms it added; as RSS, as RSS less what V8's young generation grew by (it grows to 32 MiB in a burst of allocations and stays while anything allocates, in every target: a cost of the process, not of its rooms), and as V8 heap + external. The two clients of every two-client room must converge. ` +
		'Then every client leaves and the server\'s own count of loaded rooms is watched until it is zero (ours: /api/health collabStats; the others: a /bench-stats route of their launcher script). "≥ x" = still loaded when the watch ended.',
	quick:
		"R = 200 rooms (full: 1,000), 1 s settles (5 s; idle 16 s before the memory is read, after ours hibernates idle documents at 10 s), the unload watched for the target's own delay + 5 s (+ 45 s). " +
		'Ours unloads a room 30 s after its last client left (roomIdleMs, no environment setting), so quick waits those 30 s too.',
	run,
	goals(t) {
		const out: string[] = [];
		for (const r of t.rows) {
			const c = r.cells.ours;
			if (!c || c.values.length === 0) continue;
			if (r.measure === PER_ROOM || r.measure === PER_ROOM_LESS_YOUNG || r.measure === PER_ROOM_HEAP) {
				const kb = (c.median * 1024) / 1000;
				const what = { [PER_ROOM]: 'RSS', [PER_ROOM_LESS_YOUNG]: 'RSS less the young generation', [PER_ROOM_HEAP]: 'heap + external' }[
					r.measure
				];
				out.push(
					`${r.row}: D ${kb.toFixed(1)} KB per idle room (${what}, after GC) vs ≤ ${GOAL_KB_PER_ROOM} KB — ${kb <= GOAL_KB_PER_ROOM ? 'met' : 'missed'}`
				);
			} else if (r.measure === UNLOADED) {
				const ok = c.atLeast === 0 && c.median <= GOAL_UNLOAD_S;
				out.push(
					`${r.row}: D no room loaded ${c.atLeast ? 'after more than' : 'after'} ${c.median.toFixed(1)} s vs ≤ ${GOAL_UNLOAD_S} s after the last client left — ${ok ? 'met' : 'missed'}`
				);
			}
		}
		return out;
	}
};
