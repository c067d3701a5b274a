/**
 * Real Yjs updates (v1 encoding) built by hand, so a writer needs no Y.Doc: each call appends one ASCII
 * string to the writer's own run in the root Y.Text `notes` — the first insert has no origin (start of
 * the text), every later one has the writer's previous last character as its left origin. Exactly what
 * `Y.encodeStateAsUpdate` would produce for that one item (checked against Yjs in harness.spec-ish
 * self-test `selfTest()` that run.ts calls once).
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

const CONTENT_STRING = 4;
const HAS_ORIGIN = 0x80;

export class CraftedWriter {
	private clock = 0;
	constructor(
		readonly clientId: number,
		readonly key = 'notes'
	) {}

	/** The update inserting `ascii` after this writer's previous insert. */
	next(ascii: string): Uint8Array {
		const e = encoding.createEncoder();
		encoding.writeVarUint(e, 1); // one client
		encoding.writeVarUint(e, 1); // one struct
		encoding.writeVarUint(e, this.clientId);
		encoding.writeVarUint(e, this.clock);
		if (this.clock === 0) {
			encoding.writeUint8(e, CONTENT_STRING);
			encoding.writeVarUint(e, 1); // parent is a root type, named by key
			encoding.writeVarString(e, this.key);
		} else {
			encoding.writeUint8(e, CONTENT_STRING | HAS_ORIGIN);
			encoding.writeVarUint(e, this.clientId);
			encoding.writeVarUint(e, this.clock - 1);
		}
		encoding.writeVarString(e, ascii);
		encoding.writeVarUint(e, 0); // empty delete set
		this.clock += ascii.length;
		return encoding.toUint8Array(e);
	}
}

/** Throws unless crafted updates apply to a Y.Doc as the text they claim (run once per process). */
export function selfTest(): void {
	const doc = new Y.Doc();
	const a = new CraftedWriter(1001);
	const b = new CraftedWriter(1002);
	const parts = ['WRMK000000000001', 'WRMK000000000002', 'hello'];
	for (const p of parts) {
		Y.applyUpdate(doc, a.next(p));
		Y.applyUpdate(doc, b.next(p.toLowerCase()));
	}
	const text = doc.getText('notes').toString();
	const wantA = parts.join('');
	const wantB = parts.map((p) => p.toLowerCase()).join('');
	if (text.length !== wantA.length + wantB.length || !text.includes(wantA) || !text.includes(wantB) || doc.store.pendingStructs)
		throw new Error(`crafted Yjs updates do not apply as expected: ${JSON.stringify(text)}`);
	doc.destroy();
}
