// The canary of the abuse suite, in its own thread: a writer in another room that sends one timeline
// entry and waits for the server's answer every `intervalMs`. In a thread of its own, its round trips
// measure the server, not the attackers' frame building in the test's event loop (a real user's client
// is another machine). Plain JavaScript so the worker needs no TypeScript loader; see canary.ts.
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';

const MESSAGE_SYNC = 0;
const SYNC_STEP_1 = 0;
const SYNC_STEP_2 = 1;
const SYNC_UPDATE = 2;
const MESSAGE_ACK = 100;

const { port, room, cookie, origin, intervalMs, maxWrites, deadline, barrierTimeoutMs } = workerData;
let stopping = false;
parentPort.on('message', (m) => {
	if (m === 'stop') stopping = true;
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

function syncMessage(sub, bytes) {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, MESSAGE_SYNC);
	encoding.writeVarUint(e, sub);
	encoding.writeVarUint8Array(e, bytes);
	return encoding.toUint8Array(e);
}

async function main() {
	const ws = new WebSocket(`ws://127.0.0.1:${port}/collab/${room}?acks=1`, { headers: { Cookie: cookie, Origin: origin } });
	let acked = 0;
	let step2 = 0;
	let closed;
	ws.on('message', (data) => {
		const d = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
		const type = decoding.readVarUint(d);
		if (type === MESSAGE_ACK) acked = Math.max(acked, decoding.readVarUint(d));
		else if (type === MESSAGE_SYNC && decoding.readVarUint(d) === SYNC_STEP_2) step2++;
	});
	ws.on('close', (code, reason) => (closed = `${code} ${reason.toString()}`));
	ws.on('error', (e) => (closed ??= `error ${e.message}`));
	await new Promise((resolve, reject) => {
		ws.once('open', resolve);
		ws.once('error', reject);
		ws.once('unexpected-response', (_req, res) => reject(new Error(`the canary could not connect: ${res.statusCode}`)));
	});

	// A sync step 1 with an empty state vector comes back as a sync step 2 only after the server handled
	// everything sent before it on this socket.
	const emptyStateVector = Y.encodeStateVector(new Y.Doc());
	const barrier = async () => {
		const before = step2;
		ws.send(syncMessage(SYNC_STEP_1, emptyStateVector));
		const until = Date.now() + barrierTimeoutMs;
		while (Date.now() < until && !closed) {
			if (step2 > before) return true;
			await sleep(1);
		}
		return false;
	};
	if (!(await barrier())) throw new Error(`the canary's first round trip failed (${closed ?? 'timed out'})`);
	parentPort.postMessage({ ready: true });

	const doc = new Y.Doc();
	const timeline = doc.getArray('timeline');
	const trips = [];
	let writes = 0;
	for (let i = 0; !stopping && i < maxWrites && Date.now() < deadline; i++) {
		const sv = Y.encodeStateVector(doc);
		const at = new Date().toISOString();
		doc.transact(() => {
			const entry = new Y.Map();
			for (const [k, v] of Object.entries({ id: randomUUID(), at, recordedAt: at, kind: 'note', author: null, authorName: 'Canary' }))
				entry.set(k, v);
			entry.set('text', new Y.Text(`canary ${i}`));
			for (const k of ['pinned', 'offline']) entry.set(k, false);
			for (const k of ['deletedBy', 'deletedAt']) entry.set(k, null);
			timeline.push([entry]);
		});
		const t0 = now();
		ws.send(syncMessage(SYNC_UPDATE, Y.encodeStateAsUpdate(doc, sv)));
		writes++;
		if (!(await barrier())) throw new Error(`canary round trip ${i} failed (${closed ?? 'timed out'})`);
		trips.push([t0, now()]);
		await sleep(intervalMs);
	}
	// Every write acknowledged (committed) before we report.
	const until = Date.now() + 5000;
	while (acked < writes && Date.now() < until && !closed) await sleep(10);
	const open = ws.readyState === WebSocket.OPEN;
	ws.terminate();
	return { trips, writes, acked, open };
}

main().then(
	(result) => parentPort.postMessage({ result }),
	(error) => parentPort.postMessage({ error: String(error?.stack ?? error) })
);
