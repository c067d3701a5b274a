/**
 * Persistence (issue 9): one busy room, several writers each sending small updates at a steady rate
 * with `?acks=1`. Measures the acknowledgement latency (from sending an update to our ack message
 * type 100 covering it, i.e. after the commit) and the commits per second the room costs (log rows
 * written, from the server's own counter on `/api/health`). Target D: p99 ≤ 250 ms with ≤ 10 commits/s.
 * Only persistent targets (ours) acknowledge anything; the others are skipped.
 */
import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import { createEntry, findEntry } from '../../../src/lib/collab/incident-doc';
import type { Point, RunningTarget, ScenarioContext } from '../types';
import type { Scenario } from './index';
import { LagGuard } from '../harness/lag';
import { sleep } from '../harness/load';
import { percentileOf as percentile } from '../harness/stats';
import { openClients, type SyncClient } from './sync-client';

const NAME = 'persistence';

async function run(target: RunningTarget, ctx: ScenarioContext): Promise<Point[]> {
	if (!target.persistent) return [];
	const writers = ctx.quick ? 4 : 8;
	const ratePerWriter = ctx.quick ? 5 : 8;
	const seconds = ctx.quick ? 6 : 20;
	const [room] = await target.rooms(1);
	const clients = await openClients((i) => ({ target, room: room!, index: i, acks: true }), writers);
	const row = `${writers} writers × ${ratePerWriter}/s`;
	try {
		// The sync step 2 each client sent on connect is acked (and committed) before we start counting.
		await Promise.all(clients.map((c) => c.waitAck(c.sent, 10_000)));
		for (const c of clients) c.ackLatencies.length = 0;
		const before = await target.stats();
		const guard = new LagGuard();
		guard.start();
		const started = performance.now();
		const deadline = started + seconds * 1000;
		const perWriter = Math.ceil(seconds * ratePerWriter);
		const write = async (c: SyncClient, w: number) => {
			const period = 1000 / ratePerWriter;
			// Spread the writers over one period so their sends do not all land in the same instant.
			await sleep((w * period) / writers);
			let entry: Y.Map<unknown> | undefined;
			for (let k = 0; k < perWriter && performance.now() < deadline; k++) {
				const due = started + (w * period) / writers + k * period;
				if (k % 20 === 0) {
					c.change((doc) => {
						const id = createEntry(doc, {
							id: randomUUID(),
							at: new Date().toISOString(),
							recordedAt: new Date().toISOString(),
							kind: 'note',
							text: '…',
							author: null,
							authorName: `writer ${w}`
						});
						entry = findEntry(doc, id);
					});
				} else {
					// Typing into the entry: one character per update, like a browser sends keystrokes.
					c.change(() => {
						const text = entry?.get('text');
						if (text instanceof Y.Text) text.insert(text.length, 'abcdefghij'[k % 10]!);
					});
				}
				const wait = due + period - performance.now();
				if (wait > 0) await sleep(wait);
			}
		};
		await Promise.all(clients.map((c, w) => write(c, w)));
		const elapsed = (performance.now() - started) / 1000;
		await Promise.all(clients.map((c) => c.waitAck(c.sent, 15_000)));
		const lag = guard.stop();
		ctx.check(`${row}: every update acknowledged`, true, `${clients.reduce((n, c) => n + c.acked, 0)} messages acknowledged`);
		const after = await target.stats();
		const latencies = clients.flatMap((c) => c.ackLatencies);
		const sent = clients.reduce((n, c) => n + c.sent, 0);
		ctx.log(
			`${target.name} ${row}: ${latencies.length} acks for ${sent} messages, p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
				`p99 ${percentile(latencies, 99).toFixed(1)} ms; generator lag p99 ${lag.p99Ms.toFixed(1)} ms`
		);
		const points: Point[] = [
			{
				scenario: NAME,
				row,
				measure: 'ack p50 ms',
				target: target.name,
				value: percentile(latencies, 50),
				better: 'lower',
				discarded: lag.lagged
			},
			{
				scenario: NAME,
				row,
				measure: 'ack p99 ms',
				target: target.name,
				value: percentile(latencies, 99),
				better: 'lower',
				discarded: lag.lagged
			}
		];
		if (before.rows !== undefined && after.rows !== undefined && before.commits !== undefined && after.commits !== undefined) {
			// One room is busy and nothing else writes: every commit of the process is this room's.
			points.push({
				scenario: NAME,
				row,
				measure: 'commits/s',
				target: target.name,
				value: (after.rows - before.rows) / elapsed,
				better: 'lower',
				note: `${after.commits - before.commits} commits, ${after.rows - before.rows} log rows in ${elapsed.toFixed(1)} s for ${writers * ratePerWriter} updates/s`
			});
		}
		return points;
	} finally {
		await Promise.all(clients.map((c) => c.close()));
	}
}

export const persistence: Scenario = {
	name: NAME,
	title: 'Persistence: acknowledgement latency and commits',
	description:
		'Ours only (the others persist nothing): one busy room, writers sending one small update each at a steady rate with ?acks=1; latency from sending to our ack (type 100, sent after the commit), and log rows committed per second for the room (server counter on /api/health).',
	quick: '4 writers × 5/s for 6 s (full: 8 × 8/s for 20 s).',
	targets: ['ours'],
	run
};
