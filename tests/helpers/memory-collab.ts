/**
 * A `CollabPort` over real in-memory Y.Docs (one per incident), for service tests that need the
 * shared document but not the socket server. The documents are real Yjs documents, written with
 * the same helpers the server uses; only the network and persistence are left out.
 */
import * as Y from 'yjs';
import { createEntry } from '../../src/lib/collab/incident-doc';
import type { CollabPort } from '../../src/lib/server/context';

export function memoryCollab(): CollabPort & { docs: Map<string, Y.Doc> } {
	const docs = new Map<string, Y.Doc>();
	const docOf = (id: string) => {
		let doc = docs.get(id);
		if (!doc) docs.set(id, (doc = new Y.Doc()));
		return doc;
	};
	let n = 0;
	return {
		docs,
		async appendSystemEntry(incidentId, entry) {
			const at = entry.at ?? new Date();
			createEntry(docOf(incidentId), {
				id: `sys-${++n}`,
				at,
				recordedAt: at,
				kind: entry.kind,
				text: entry.text.en,
				author: null,
				authorName: 'Warroom',
				i18n: entry.text,
				pinned: entry.pinned
			});
		},
		async transact(incidentId, fn) {
			const doc = docOf(incidentId);
			doc.transact(() => fn(doc), 'server');
		},
		async read(incidentId, fn) {
			return fn(docOf(incidentId));
		}
	};
}
