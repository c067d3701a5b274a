import * as decoding from 'lib0/decoding';
import { describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { RoomBroadcaster, type BroadcastPeer } from './broadcast';

const turn = () => new Promise<void>((r) => setImmediate(r));

function peer(): BroadcastPeer & { got: Uint8Array[] } {
	const got: Uint8Array[] = [];
	return { got, send: (m) => got.push(m) };
}

/** [type, sub?] and the payload of a y-websocket message. */
function parse(m: Uint8Array): { type: number; sub?: number; payload: Uint8Array } {
	const d = decoding.createDecoder(m);
	const type = decoding.readVarUint(d);
	const sub = type === 0 ? decoding.readVarUint(d) : undefined;
	return { type, sub, payload: decoding.readVarUint8Array(d) };
}

function setup() {
	const doc = new Y.Doc();
	const awareness = new awarenessProtocol.Awareness(doc);
	awareness.setLocalState(null);
	const peers = new Set([peer(), peer(), peer()]);
	const room = { awareness, peers, destroyed: false };
	return { doc, awareness, room, peers: [...peers], b: new RoomBroadcaster(room) };
}

function update(client: number, text: string): Uint8Array {
	const d = new Y.Doc();
	d.clientID = client;
	d.getText('notes').insert(0, text);
	return Y.encodeStateAsUpdate(d);
}

describe('RoomBroadcaster', () => {
	it('sends a lone update to everyone but its sender, at the end of the turn', async () => {
		const { b, peers } = setup();
		b.update(update(1, 'a'), peers[0]);
		expect(peers[1]!.got).toHaveLength(0);
		await turn();
		expect(peers[0]!.got).toHaveLength(0);
		for (const p of peers.slice(1)) {
			expect(p.got).toHaveLength(1);
			expect(parse(p.got[0]!)).toMatchObject({ type: 0, sub: 2 });
		}
	});

	it('merges the updates of one turn into one message for every peer, senders included', async () => {
		const { b, peers } = setup();
		b.update(update(1, 'one'), peers[0]);
		b.update(update(2, 'two'), peers[1]);
		b.update(update(3, 'three'), 'server');
		await turn();
		for (const p of peers) {
			expect(p.got).toHaveLength(1);
			const doc = new Y.Doc();
			Y.applyUpdate(doc, parse(p.got[0]!).payload);
			expect(doc.getText('notes').toString().length).toBe('onetwothree'.length);
		}
		b.update(update(4, 'next'), peers[2]);
		await turn();
		expect(peers[2]!.got).toHaveLength(1);
		expect(peers[0]!.got).toHaveLength(2);
	});

	it('sends the awareness changes of one turn as one message naming every changed client, latest state only', async () => {
		const { b, peers, awareness } = setup();
		const other = new awarenessProtocol.Awareness(new Y.Doc());
		for (let clock = 1; clock <= 3; clock++) {
			other.setLocalState({ n: clock });
			awarenessProtocol.applyAwarenessUpdate(awareness, awarenessProtocol.encodeAwarenessUpdate(other, [other.clientID]), 'x');
			b.awarenessChanged([other.clientID]);
		}
		b.awarenessChanged([77]);
		await turn();
		for (const p of peers) {
			expect(p.got).toHaveLength(1);
			const m = parse(p.got[0]!);
			expect(m.type).toBe(1);
			const seen = new awarenessProtocol.Awareness(new Y.Doc());
			awarenessProtocol.applyAwarenessUpdate(seen, m.payload, 'y');
			expect(seen.getStates().get(other.clientID)).toEqual({ n: 3 });
		}
	});

	it('sends nothing once the room is destroyed', async () => {
		const { b, peers, room } = setup();
		b.update(update(1, 'a'), null);
		room.destroyed = true;
		await turn();
		for (const p of peers) expect(p.got).toHaveLength(0);
	});
});
