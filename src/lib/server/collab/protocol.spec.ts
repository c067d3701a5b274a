import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { assertValidUpdate, FrameError } from './protocol';

function docWithContent(): Y.Doc {
	const doc = new Y.Doc();
	doc.getArray('timeline').push([new Y.Map()]);
	doc.getText('notes').insert(0, 'hello');
	return doc;
}

describe('assertValidUpdate', () => {
	it('accepts real updates, deletions included', () => {
		const doc = docWithContent();
		expect(() => assertValidUpdate(Y.encodeStateAsUpdate(doc))).not.toThrow();
		const sv = Y.encodeStateVector(doc);
		doc.getText('notes').delete(0, 2);
		expect(() => assertValidUpdate(Y.encodeStateAsUpdate(doc, sv))).not.toThrow();
	});

	it('refuses an update whose delete set is truncated (found by the abuse suite: it threw inside applyUpdate)', () => {
		// No structs, then a delete set that ends early / overflows an integer.
		for (const hex of [
			'005ac42fc0e95c50a186713bdaf3ea306e41a45cdf3dc9f3b070ab9b6e256d8313d641a8',
			'0010ff12b16cbd3c5faceb78203e98291b5bf516889bb1bf17ca2291d2e6290a43d61ff5d3bbf086fdf9be8ffb9db2f351a4753a5734ccd6'
		]) {
			const update = Uint8Array.from(Buffer.from(hex, 'hex'));
			expect(() => Y.applyUpdate(docWithContent(), update)).toThrow();
			expect(() => assertValidUpdate(update)).toThrow(FrameError);
		}
	});

	it('whatever it accepts, applyUpdate takes without throwing (3,000 random updates)', () => {
		const state = Y.encodeStateAsUpdate(docWithContent());
		let accepted = 0;
		for (let i = 0; i < 3_000; i++) {
			const update = randomBytes(8 + Math.floor(Math.random() * 64));
			try {
				assertValidUpdate(update);
			} catch (error) {
				expect(error).toBeInstanceOf(FrameError);
				continue;
			}
			accepted++;
			const doc = new Y.Doc();
			Y.applyUpdate(doc, state);
			expect(() => Y.applyUpdate(doc, update)).not.toThrow();
		}
		expect(accepted).toBeLessThan(3_000);
	});
});
