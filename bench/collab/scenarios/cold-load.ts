/**
 * Cold load of a long incident (issue 9): the automerge-paper editing trace (or its stand-in, see
 * bench/collab/data/README.md) replayed into the `notes` Y.Text, stored the way ours stores real edits
 * — one log row per batch of ops in `collab_updates` — and then opened by a fresh client while the
 * room is not in memory. Timed from creating the socket (upgrade, auth, load, sync) to receiving the
 * server's sync step 2 with the complete document. Three times: on the long log as written (the
 * whole history in rows, which ours never leaves: it compacts as it goes), on a snapshot with the
 * longest tail ours leaves (a process killed just before a compaction), and after ours compacted it
 * (snapshot + empty tail). Target D: ≤ 50 ms however long the history. The compacted
 * case loads the snapshot ours wrote, stored for fresh incidents this process never loaded: the same
 * rows a compacted room has, without waiting for the first rooms to unload (30 s idle).
 *
 * The other targets keep nothing: for them (and for ours, as a baseline) we time a second client's
 * join to a room a first client filled with the same document — a warm join, marked as such. The raw
 * relay keeps no state at all, so it has no figure.
 */
import type { Kysely } from 'kysely';
import * as Y from 'yjs';
import { DEFAULT_ROOM_OPTIONS, tailByteBound } from '../../../src/lib/server/collab/room-manager';
import type { Database } from '../../../src/lib/server/db/schema';
import { cachedHistory, loadTrace, type History } from '../data/paper-trace';
import { closeAll, LoadClient, openClients } from '../harness/client';
import { sleep } from '../harness/load';
import { collectGenerator, collectGeneratorFully } from '../harness/quiet';
import { percentileOf as percentile } from '../harness/stats';
import type { Point, RunningTarget, ScenarioContext } from '../types';
import type { Scenario } from './index';
import { SyncClient } from './sync-client';

const NAME = 'cold-load';
const OPS_PER_ROW = 100;
const INSERT_CHUNK = 200;

/**
 * The trace's history, read for each run of the scenario (0.1 s from the disk cache) and let go after
 * it: held for the rest of a run, its 3 MiB of rows and the trace made every later scenario's generator
 * slower (event-loop lag p99 during ours' join storms from about 1 ms to 4–10 ms, stop 19).
 */
function history(ctx: ScenarioContext): History {
	const t0 = performance.now();
	const { history, from } = cachedHistory(loadTrace(), OPS_PER_ROW, ctx.log);
	ctx.log(
		`history (${history.trace}, ${history.updates.length} rows): ${from === 'cache' ? 'read from the cache' : 'replayed'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`
	);
	return history;
}

async function databaseUrlOf(target: RunningTarget): Promise<string | undefined> {
	const own = (target as RunningTarget & { databaseUrl?: string }).databaseUrl;
	if (own) return own;
	const ours = await import('../targets/ours');
	return ours.databaseUrl();
}

/**
 * Opens a client, waits for the complete document; returns ms from socket creation to sync step 2 applied
 * (`received`: to its arrival). The generator's young generation is emptied first, outside the timed
 * window (`collectGenerator`): the generator holds the whole history, and a scavenge during the client's
 * decode timed the generator, not the target (20–30 ms on a 2-core EPYC, stop 15).
 */
async function timedJoin(
	target: RunningTarget,
	room: string,
	i: number,
	expect: number
): Promise<{ ms: number; received: number; client: SyncClient }> {
	collectGenerator();
	const client = new SyncClient({ target, room, index: i, timeoutMs: 30_000 });
	await client.synced;
	const got = client.doc.getText('notes').length;
	if (got !== expect) throw new Error(`${target.name}: loaded ${got} characters of notes, expected ${expect}`);
	return { ms: client.syncedAt - client.startedAt, received: client.step2At - client.startedAt, client };
}

/** The document after the first `rows` log rows: what a compaction at that point stored. */
function stateAfter(h: History, rows: number): Uint8Array {
	const doc = new Y.Doc();
	for (const u of h.updates.slice(0, rows)) Y.applyUpdate(doc, u);
	const state = Y.encodeStateAsUpdate(doc);
	doc.destroy();
	return state;
}

/** The most trailing rows of the trace a live room of ours holds past its snapshot: where it compacts. */
function longestTail(h: History): number {
	let rows = 0;
	let bytes = 0;
	// The byte bound of a room whose compactions fold its live document (the usual case; the snapshot is
	// about the whole document's size).
	const byteBound = tailByteBound(DEFAULT_ROOM_OPTIONS.compactAfterBytes, h.state.byteLength, true);
	while (rows < h.updates.length && rows < DEFAULT_ROOM_OPTIONS.compactAfterRows && bytes < byteBound) {
		bytes += h.updates[h.updates.length - 1 - rows]!.byteLength;
		rows++;
	}
	return rows;
}

/** Clients in each storm into the long incident. */
const STORM = 100;

/**
 * STORM clients open the room at once with the same state vector (light clients: they count the sync
 * step 2, they do not decode it): all of the document (reconnecting after a network blip) or nothing
 * (fresh tabs). Each answers the server's sync step 1 as a real client would: a reconnecting one with
 * its delete set (y-protocols' step 2 always carries the whole delete set, 14 KiB here), a fresh one
 * with an empty update. Returns the points of both storms.
 */
async function storms(target: RunningTarget, ctx: ScenarioContext, room: string, h: History, rowLabel: string): Promise<Point[]> {
	const points: Point[] = [];
	const full = Y.encodeStateVectorFromUpdate(h.state);
	// What a client holding the document answers a server holding it: what the server lacks (nothing)
	// and its whole delete set, encoded as a real client does.
	const held = new Y.Doc();
	Y.applyUpdate(held, h.state);
	const deleteSet = Y.encodeStateAsUpdate(held, full);
	held.destroy();
	for (const [what, stateVector, step2] of [
		[`reconnect storm: ${STORM} clients holding the document`, full, deleteSet],
		[`join storm: ${STORM} fresh clients`, new Uint8Array([0]), undefined]
	] as const) {
		collectGenerator();
		const t0 = performance.now();
		const { clients, failed } = await openClients(STORM, (i) => new LoadClient({ target, room, index: i, stateVector, step2 }), 30_000);
		const per = clients.filter((c) => Number.isFinite(c.syncedAt)).map((c) => c.syncedAt - c.startedAt);
		const all = failed.length ? NaN : Math.max(...clients.map((c) => c.syncedAt)) - t0;
		closeAll(clients);
		ctx.check(`${what}: every client synced`, failed.length === 0, failed.length ? `${failed.length} did not sync` : `${STORM} synced`);
		ctx.log(`${target.name} ${what}: all synced ${all.toFixed(0)} ms, p99 ${percentile(per, 99).toFixed(1)} ms`);
		const row = `${what}, ${rowLabel}`;
		const base = { scenario: NAME, row, target: target.name, better: 'lower' as const };
		points.push({ ...base, measure: 'all synced ms', value: all }, { ...base, measure: 'p99 ms', value: percentile(per, 99) });
		await sleep(500);
	}
	return points;
}

/** Stores `updates` as the room's log rows, one per update, in statements of INSERT_CHUNK rows. */
async function appendRows(db: Kysely<Database>, room: string, updates: Uint8Array[]): Promise<void> {
	const collabRepo = await import('../../../src/lib/server/repositories/collab.repository');
	for (let i = 0; i < updates.length; i += INSERT_CHUNK) {
		await collabRepo.append(
			db,
			updates.slice(i, i + INSERT_CHUNK).map((update) => ({ doc: room, update, nodeId: 'bench-seed' }))
		);
	}
}

async function rowsOf(db: Kysely<Database>, room: string): Promise<number> {
	const r = await db
		.selectFrom('collab_updates')
		.select((eb) => eb.fn.countAll<string>().as('n'))
		.where('doc', '=', room)
		.executeTakeFirstOrThrow();
	return Number(r.n);
}

async function coldOurs(target: RunningTarget, ctx: ScenarioContext, h: History, loads: number): Promise<Point[]> {
	const url = await databaseUrlOf(target);
	if (!url) {
		ctx.log('cold-load: no database URL for ours; skipped');
		return [];
	}
	const { openDatabase } = await import('../../../src/lib/server/db/index');
	const collabRepo = await import('../../../src/lib/server/repositories/collab.repository');
	const handle = await openDatabase({ databaseUrl: url, poolSize: 2 });
	const bytes = h.updates.reduce((n, u) => n + u.byteLength, 0);
	const expect = h.text.length;
	const rowLabel = `${expect.toLocaleString('en')} chars, ${h.ops.toLocaleString('en')} ops`;
	try {
		const rooms = await target.rooms(loads);
		for (const room of rooms) {
			await appendRows(handle.db, room, h.updates);
		}
		const coldLog: number[] = [];
		const compactWaits: number[] = [];
		for (const [i, room] of rooms.entries()) {
			const { ms, client } = await timedJoin(target, room, i, expect);
			coldLog.push(ms);
			await client.close();
			// The first flush after loading a long log compacts it: wait for that (bounded) before the next.
			const t0 = performance.now();
			while (performance.now() - t0 < 30_000 && (await rowsOf(handle.db, room)) > 0) await sleep(250);
			compactWaits.push(performance.now() - t0);
		}
		const snapshot = await collabRepo.findSnapshot(handle.db, rooms[0]!);
		const left = await Promise.all(rooms.map((r) => rowsOf(handle.db, r)));
		ctx.log(
			`ours cold load of a ${h.updates.length}-row log (${(bytes / 2 ** 20).toFixed(1)} MiB): ${coldLog.map((m) => m.toFixed(0)).join(', ')} ms; ` +
				`compacted within ${compactWaits.map((m) => (m / 1000).toFixed(1)).join(', ')} s to a ${snapshot ? (snapshot.state.byteLength / 1024).toFixed(0) : '?'} KiB snapshot (rows left: ${left.join(', ')})`
		);
		// The compacted case: each room's snapshot, stored for a fresh incident (never loaded here, no log).
		const fresh = await target.rooms(loads);
		for (const [i, room] of rooms.entries()) {
			const snap = await collabRepo.findSnapshot(handle.db, room);
			if (!snap) throw new Error(`ours wrote no snapshot for ${room} after loading its long log`);
			await collabRepo.upsertSnapshot(handle.db, { doc: fresh[i]!, state: snap.state, uptoId: snap.uptoId, at: new Date() });
		}
		const coldSnap: number[] = [];
		const coldSnapReceived: number[] = [];
		const warm: number[] = [];
		for (const [i, room] of fresh.entries()) {
			const first = await timedJoin(target, room, i, expect);
			coldSnap.push(first.ms);
			coldSnapReceived.push(first.received);
			const second = await timedJoin(target, room, i + loads, expect);
			warm.push(second.ms);
			await Promise.all([first.client.close(), second.client.close()]);
		}
		ctx.log(
			`ours cold load after compaction: ${coldSnap.map((m) => m.toFixed(0)).join(', ')} ms; warm join ${warm.map((m) => m.toFixed(0)).join(', ')} ms`
		);
		// Storms into a long incident this process holds (it loaded it for the joins above).
		const stormPoints = await storms(target, ctx, fresh[fresh.length - 1]!, h, rowLabel);
		// The longest log a live room leaves: ours compacts once a room's rows past its snapshot reach
		// compactAfterRows or compactAfterBytes, so a process killed just then leaves a snapshot of
		// everything before and that tail.
		const tail = longestTail(h);
		const tailBytes = h.updates.slice(h.updates.length - tail).reduce((n, u) => n + u.byteLength, 0);
		const head = stateAfter(h, h.updates.length - tail);
		const tailed = await target.rooms(loads);
		for (const room of tailed) {
			await collabRepo.upsertSnapshot(handle.db, { doc: room, state: head, uptoId: '0', at: new Date() });
			await appendRows(handle.db, room, h.updates.slice(h.updates.length - tail));
		}
		const coldTail: number[] = [];
		for (const [i, room] of tailed.entries()) {
			const { ms, client } = await timedJoin(target, room, i, expect);
			coldTail.push(ms);
			await client.close();
		}
		ctx.log(`ours cold load of a snapshot + ${tail}-row tail: ${coldTail.map((m) => m.toFixed(0)).join(', ')} ms`);
		// timedJoin throws on an incomplete document: reaching here means every load was complete.
		ctx.check(
			'every cold and warm load held the complete notes',
			true,
			`${4 * loads} clients, ${expect.toLocaleString('en')} characters each`
		);
		const p = (row: string, measure: string, value: number, note?: string): Point => ({
			scenario: NAME,
			row,
			measure,
			target: 'ours',
			value,
			better: 'lower',
			note
		});
		const logRow = `cold, ${h.updates.length}-row log (${(bytes / 2 ** 20).toFixed(1)} MiB), ${rowLabel}`;
		const tailRow = `cold, snapshot + ${tail}-row tail (${(tailBytes / 1024).toFixed(0)} KiB, the longest log ours leaves), ${rowLabel}`;
		const snapRow = `cold, compacted (${snapshot ? (snapshot.state.byteLength / 1024).toFixed(0) : '?'} KiB snapshot), ${rowLabel}`;
		return [
			p(logRow, 'p50 ms', percentile(coldLog, 50)),
			p(logRow, 'max ms', Math.max(...coldLog)),
			p(
				tailRow,
				'p50 ms',
				percentile(coldTail, 50),
				`snapshot + tail: ours compacts a room's log once the rows past its snapshot reach ${DEFAULT_ROOM_OPTIONS.compactAfterRows} or hold max(${DEFAULT_ROOM_OPTIONS.compactAfterBytes / 1024} KiB, an eighth of the snapshot's size) (compactAfterRows, compactAfterBytes; here ${tail} rows of the trace), storing its live document without decoding the log, so a process killed just as that compaction starts leaves this much to replay`
			),
			p(tailRow, 'max ms', Math.max(...coldTail)),
			p(
				snapRow,
				'p50 ms',
				percentile(coldSnap, 50),
				'compacted: the snapshot ours wrote after loading the long log, stored for fresh incidents this process never loaded (so no wait for the idle unload)'
			),
			p(snapRow, 'max ms', Math.max(...coldSnap)),
			p(snapRow, 'p50 ms to step 2 arriving', percentile(coldSnapReceived, 50), 'before the client decodes it: the server side alone'),
			p(`warm join (in memory), ${rowLabel}`, 'p50 ms', percentile(warm, 50)),
			p(`warm join (in memory), ${rowLabel}`, 'max ms', Math.max(...warm)),
			...stormPoints
		];
	} finally {
		await handle.close();
	}
}

async function warmOthers(target: RunningTarget, ctx: ScenarioContext, h: History, loads: number): Promise<Point[]> {
	const rowLabel = `${h.text.length.toLocaleString('en')} chars, ${h.ops.toLocaleString('en')} ops`;
	const row = `warm join (in memory), ${rowLabel}`;
	if (target.name === 'raw') {
		return [
			{ scenario: NAME, row, measure: 'p50 ms', target: target.name, value: NaN, better: 'lower', note: 'n/a: a relay keeps no document' }
		];
	}
	const rooms = await target.rooms(loads);
	const warm: number[] = [];
	let stormPoints: Point[] = [];
	for (const [i, room] of rooms.entries()) {
		const writer = new SyncClient({ target, room, index: i });
		await writer.synced;
		writer.sendUpdate(h.state);
		// No acks on these targets: the answer to a later sync step 1 says the server applied the update.
		await writer.roundTrip();
		const { ms, client } = await timedJoin(target, room, i + loads, h.text.length);
		warm.push(ms);
		// Storms into the last room, while its writer keeps it loaded (these targets drop an empty room).
		if (i === rooms.length - 1) stormPoints = await storms(target, ctx, room, h, rowLabel);
		await Promise.all([writer.close(), client.close()]);
	}
	ctx.log(`${target.name} warm join: ${warm.map((m) => m.toFixed(0)).join(', ')} ms`);
	ctx.check('every warm join held the complete notes', true, `${loads} clients, ${h.text.length.toLocaleString('en')} characters each`);
	return [
		{ scenario: NAME, row, measure: 'p50 ms', target: target.name, value: percentile(warm, 50), better: 'lower' },
		{ scenario: NAME, row, measure: 'max ms', target: target.name, value: Math.max(...warm), better: 'lower' },
		...stormPoints
	];
}

export const coldLoad: Scenario = {
	targets: ['stock', 'hocuspocus', 'ours'],
	name: NAME,
	title: 'Cold load of a long incident',
	description:
		'The automerge-paper editing trace (260k single-character edits, 105k characters; see bench/collab/data/README.md for which form) ' +
		`replayed into the notes of one incident and stored as one log row per ${OPS_PER_ROW} ops. Ours: a fresh client opens the room while it is not in memory; ` +
		'time from creating the socket to the complete document (sync step 2), on the long log as written, on a snapshot with the longest tail ours leaves before it compacts, and after compaction (the snapshot it wrote, in fresh incidents). Others keep nothing: ' +
		'a second client joins a room a first client filled (warm join); ours is measured that way too. ' +
		`Then, into such a room held in memory, two storms of ${STORM} light clients at once (they count the sync step 2, they do not decode it): clients holding the whole document (a reconnect after a network blip: each sends its delete set, 14 KiB, as every real client's sync step 2 does, and is answered with the server's) and fresh clients (the answer is the whole document). ` +
		"Before every timed join the generator empties its own young generation (a scavenge, outside the window), so the client's decode does not pay for the history the generator holds.",
	quick: '3 incidents per case (full: 5).',
	async run(target, ctx) {
		const loads = ctx.quick ? 3 : 5;
		try {
			const h = history(ctx);
			return await (target.persistent ? coldOurs(target, ctx, h, loads) : warmOthers(target, ctx, h, loads));
		} finally {
			// The history is unreachable now: collect it before the next target's scenarios run.
			collectGeneratorFully();
		}
	}
};
