/**
 * One delivery measurement in one room: `clients` load clients join; `senders` of them (the first ones)
 * send a marker `hz` times a second for the duration — a Yjs update (a crafted insert into `notes`) or
 * an awareness state — and every client records, for each marker it receives from another client, the
 * delay since it was sent. Two full clients (real Y.Doc) join too, each writes a line, and for updates
 * the check at the end is that both converged on every character sent.
 */
import type { RunningTarget, ScenarioContext } from '../types';
import { closeAll, type LoadClient } from './client';
import { checkConvergence, FullClient } from './full-client';
import { LagGuard } from './lag';
import { drain, join, paced, randomClientId, sleep } from './load';
import { marker } from './marker';
import { awarenessUpdate } from './protocol';
import { cpuTimeMs, percentile, Samples } from './stats';
import { CraftedWriter } from './ycraft';

export interface DeliveryResult {
	p50: number;
	p99: number;
	max: number;
	sent: number;
	/** Received ÷ expected (sent × receivers). */
	delivered: number;
	/**
	 * Awareness is state, not events: a server may send only a client's latest state. Share of
	 * (receiver, sender) pairs whose last state sent arrived by the end (updates: same as delivered).
	 */
	finalDelivered: number;
	lagP99Ms: number;
	lagged: boolean;
	/** The server's CPU use while sending (user + system, % of one core). */
	serverCpuPct: number;
	convergence?: { ok: boolean; detail: string };
}

export async function measureDelivery(
	target: RunningTarget,
	ctx: ScenarioContext,
	opts: {
		clients: number;
		senders: number;
		hz: number;
		kind: 'update' | 'awareness';
		durationMs: number;
		warmupMs: number;
		convergence: boolean;
	}
): Promise<DeliveryResult> {
	const [room] = await target.rooms(1);
	const samples = new Samples();
	let measureFrom = Infinity;
	let received = 0;
	const n = opts.clients;
	// µs send time of the latest marker each sender sent, and of the latest each receiver got from each sender.
	const lastSent = new Float64Array(opts.senders);
	const lastGot = new Float64Array(n * opts.senders);
	const clients: LoadClient[] = await join(target, room!, n, {
		onMarker: (client, kind, sent, sender, at) => {
			if (kind !== opts.kind || sender === client || sender >= opts.senders) return;
			const us = Math.round(sent * 1000);
			const k = client * opts.senders + sender;
			if (us > lastGot[k]!) lastGot[k] = us;
			if (sent < measureFrom) return;
			samples.push(at - sent);
			received++;
		}
	});
	const finalShare = () => {
		let done = 0;
		let pairs = 0;
		for (let c = 0; c < n; c++)
			for (let s = 0; s < opts.senders; s++) {
				if (c === s || lastSent[s] === 0) continue;
				pairs++;
				if (lastGot[c * opts.senders + s] === lastSent[s]) done++;
			}
		return pairs ? done / pairs : NaN;
	};
	const full: FullClient[] = [];
	try {
		if (opts.convergence) {
			full.push(new FullClient(target, room!, opts.clients), new FullClient(target, room!, opts.clients + 1));
			await Promise.race([
				Promise.all(full.map((f) => f.ready)),
				sleep(20_000).then(() => Promise.reject(new Error('full clients did not sync')))
			]);
			full[0]!.doc.getText('notes').insert(0, 'full client A\n');
			full[1]!.doc.getText('notes').insert(0, 'full client B\n');
		}
		const writers = Array.from({ length: opts.senders }, () => new CraftedWriter(randomClientId()));
		const awarenessIds = Array.from({ length: opts.senders }, () => randomClientId());
		const clocks = new Uint32Array(opts.senders);
		let charsSent = 0;
		let counted = 0;
		const send = (i: number) => {
			const now = performance.now();
			const m = marker(i, now);
			lastSent[i] = Math.floor(now * 1000);
			const c = clients[i]!;
			if (opts.kind === 'update') {
				c.send(c.framing.update(writers[i]!.next(m)));
				charsSent += m.length;
			} else {
				const state = `{"cursor":{"anchor":${clocks[i]},"head":${clocks[i]! + 5}},"typing":true,"m":"${m}"}`;
				c.send(c.framing.awareness(awarenessUpdate(awarenessIds[i]!, ++clocks[i]!, state)));
			}
			if (now >= measureFrom) counted++;
		};
		await sleep(300);
		const lag = new LagGuard();
		lag.start();
		measureFrom = performance.now() + opts.warmupMs;
		const cpu0 = cpuTimeMs(target.pid);
		const t0 = performance.now();
		const sent = await paced(opts.senders, opts.hz, opts.durationMs, send);
		const serverCpuPct = ((cpuTimeMs(target.pid) - cpu0) / (performance.now() - t0)) * 100;
		// Every counted marker reaches every other load client (senders included).
		const expected = counted * (opts.clients - 1);
		await drain(() => received >= expected || (opts.kind === 'awareness' && finalShare() === 1), 2000);
		const finalDelivered = finalShare();
		const l = lag.stop();
		const sorted = samples.sorted();
		let convergence: DeliveryResult['convergence'];
		if (opts.convergence && opts.kind === 'update') {
			const lines = 'full client A\n'.length + 'full client B\n'.length;
			convergence = await checkConvergence(full[0]!, full[1]!, charsSent + lines, 10_000);
			ctx.check(`${opts.clients} clients, ${opts.senders} × ${opts.hz}/s: two full clients converged`, convergence.ok, convergence.detail);
		}
		const r: DeliveryResult = {
			p50: percentile(sorted, 50),
			p99: percentile(sorted, 99),
			max: sorted.length ? sorted[sorted.length - 1]! : NaN,
			sent,
			delivered: expected ? received / expected : NaN,
			finalDelivered,
			lagP99Ms: l.p99Ms,
			lagged: l.lagged,
			serverCpuPct,
			convergence
		};
		ctx.log(
			`${opts.kind} ${opts.clients} clients, ${opts.senders} × ${opts.hz}/s: p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} max ${r.max.toFixed(0)} ms, ` +
				`delivered ${(r.delivered * 100).toFixed(1)}% (final states ${(r.finalDelivered * 100).toFixed(1)}%), server CPU ${r.serverCpuPct.toFixed(0)}%, lag p99 ${r.lagP99Ms.toFixed(1)} ms${r.lagged ? ' (LAGGED)' : ''}${convergence ? ', ' + convergence.detail : ''}`
		);
		return r;
	} finally {
		closeAll(clients);
		for (const f of full) f.close();
		await sleep(ctx.quick ? 300 : 800);
	}
}
