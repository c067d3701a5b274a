/**
 * Start-up warm-up of the code a room's first clients run. A process that has just started runs every
 * function in V8's interpreter until it has been called often enough to be compiled; the first clients
 * after a restart — in a war room, every responder's tab reconnecting at once, mid-incident — would pay
 * for that: the session lookup, the room's rule, reading the document, decoding it, the sync handshake
 * (bench/collab: a fresh process's first loads of the long-incident trace took 60–100 ms to decode
 * what takes 13 ms once compiled, and its first join storms ran 2–3× slower than later ones).
 *
 * So before the process answers its first upgrade, it runs those paths on its own: lookups that find
 * nothing or only read (no row is written, no event published, no cache filled with anything a client
 * could be given), and rounds of decoding, encoding, diffing and merging a synthetic incident document
 * shaped like a real one (timeline entries, notes typed, corrected and deleted), within a time budget.
 */
import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { createEntry, listEntries, notesOf, setEntryText, softDelete } from '../../collab/incident-doc';
import { ACTIVE_STATUSES } from '../../domain/incident-status';
import { validateSessionToken } from '../auth/sessions';
import { newToken, parseToken, secretMatches } from '../auth/tokens';
import type { AppContext } from '../context';
import * as collabRepo from '../repositories/collab.repository';
import * as incidentsRepo from '../repositories/incidents.repository';
import * as sessionsRepo from '../repositories/sessions.repository';
import { getAccessResolver } from './access';
import { foldUpdates } from './room-manager';
import {
	assertValidUpdate,
	decodeAwarenessUpdate,
	decodeClientMessage,
	encodeAwareness,
	encodeAwarenessUpdate,
	encodeSyncStep1,
	encodeSyncStep2,
	encodeUpdate
} from './protocol';

export interface WarmUpOptions {
	/** Time for the document rounds (the first round always runs). */
	documentBudgetMs?: number;
	/** Document rounds at most. */
	maxRounds?: number;
}

export interface WarmUpReport {
	ms: number;
	/** Rounds of load, answer, diff and merge of the synthetic document. */
	rounds: number;
	/** Database statements run (all reads). */
	queries: number;
}

const DEFAULTS: Required<WarmUpOptions> = { documentBudgetMs: 150, maxRounds: 12 };

/** Tokens made, parsed and checked (a few milliseconds). */
const TOKEN_ROUNDS = 200;

/** Stored documents of open incidents decoded at most (their bytes), beside the synthetic one. */
const MAX_STORED_BYTES = 512 * 1024;

/**
 * Runs the paths of a room's first clients once; see the module comment. Never throws: a failing
 * lookup (the database still starting) only means the first clients compile those paths themselves.
 */
export async function warmUpCollab(ctx: AppContext, options: WarmUpOptions = {}): Promise<WarmUpReport> {
	const opts = { ...DEFAULTS, ...options };
	const started = performance.now();
	let queries = 0;
	try {
		queries = await warmDatabasePaths(ctx);
	} catch {
		// Nothing to do: the paths warm up with the first real clients instead.
	}
	const rounds = warmDocumentPaths(opts);
	return { ms: performance.now() - started, rounds, queries };
}

/**
 * The reads an upgrade makes: a session lookup (a token nobody holds: no row), the batched
 * sessions-with-users read of sessions that exist (rows to parse, nothing validated or touched), the
 * room's rule and its document for the most recently changed open incidents (whose rooms a restart's
 * reconnect storm opens first) and for an id that is no incident.
 */
async function warmDatabasePaths(ctx: AppContext): Promise<number> {
	let queries = 0;
	// Every upgrade parses its cookie's token and compares the secret's hash (SHA-256 in JavaScript).
	for (let i = 0; i < TOKEN_ROUNDS; i++) {
		const token = newToken();
		secretMatches(parseToken(token.token)!.secret, token.secretHash);
	}
	await validateSessionToken(ctx, newToken().token);
	queries++;
	const recent = await sessionsRepo.latestIds(ctx.db, 4);
	queries++;
	if (recent.length > 0) {
		await sessionsRepo.findManyWithUser(ctx.db, recent);
		queries++;
	}
	// Open incidents: proposed or under way (not rejected, resolved or closed).
	const open = await incidentsRepo.latestUpdatedIds(ctx.db, { statuses: ['proposed', ...ACTIVE_STATUSES], limit: 3 });
	queries++;
	const resolve = getAccessResolver();
	let decoded = 0;
	for (const id of [...open, randomUUID()]) {
		const policy = await resolve(ctx, id);
		policy({ id: 'warm-up', global_role: 'responder', disabled: false });
		const { snapshot, rows } = await collabRepo.readDocument(ctx.db, id);
		queries += 2;
		const bytes = (snapshot?.state.byteLength ?? 0) + rows.reduce((n, r) => n + r.update.byteLength, 0);
		if (bytes === 0 || decoded + bytes > MAX_STORED_BYTES) continue;
		decoded += bytes;
		foldUpdates(
			snapshot?.state,
			rows.map((r) => r.update)
		);
	}
	return queries;
}

/** A synthetic incident document: its state after most of its history, and the rest as log rows. */
interface Synthetic {
	snapshot: Uint8Array;
	tail: Uint8Array[];
}

/**
 * Responders' typing, deterministic: timeline entries written and corrected, one withdrawn, and notes
 * typed in runs at a moving cursor with backspaces and deleted spans; one transaction per burst, as a
 * browser sends them.
 */
function syntheticIncident(): Synthetic {
	const doc = new Y.Doc();
	const updates: Uint8Array[] = [];
	doc.on('update', (u: Uint8Array) => updates.push(u));
	let seed = 0x2f6b_1d3;
	const random = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
	const words = ['数据库', 'failover', '主备切换', 'core switch', '交易失败率', 'rollback', '上报集团', 'DNS', '已恢复', 'vendor'];
	const ids: string[] = [];
	const notes = notesOf(doc);
	let cursor = 0;
	for (let burst = 0; burst < 90; burst++) {
		const at = new Date(Date.UTC(2026, 10, 23, 8, burst)).toISOString();
		doc.transact(() => {
			if (burst % 4 === 0) {
				ids.push(
					createEntry(doc, {
						id: randomUUID(),
						at,
						recordedAt: at,
						kind: burst % 8 === 0 ? 'action' : 'observation',
						text: `${words[burst % words.length]} ${burst}`,
						author: 'warm-up',
						authorName: 'Warm-up'
					})
				);
			}
			for (let op = 0; op < 20; op++) {
				const length = notes.length;
				const r = random();
				if (r < 0.06) cursor = Math.floor(random() * (length + 1));
				if (r < 0.16 && cursor > 0) {
					const span = Math.min(cursor, 1 + Math.floor(random() * 3));
					notes.delete(cursor - span, span);
					cursor -= span;
				} else {
					const text = random() < 0.2 ? words[Math.floor(random() * words.length)]! : String.fromCharCode(97 + Math.floor(random() * 26));
					notes.insert(cursor, text);
					cursor += text.length;
				}
			}
		});
		if (burst % 15 === 7 && ids.length > 1) setEntryText(doc, ids[ids.length - 2]!, `${words[burst % words.length]} — corrected at ${at}`);
		if (burst === 60) softDelete(doc, { id: ids[3]!, by: 'warm-up', at });
	}
	const cut = Math.floor(updates.length * 0.75);
	const head = new Y.Doc();
	for (const u of updates.slice(0, cut)) Y.applyUpdate(head, u);
	const snapshot = Y.encodeStateAsUpdate(head);
	head.destroy();
	doc.destroy();
	return { snapshot, tail: updates.slice(cut) };
}

/**
 * Rounds of what rooms do with documents: a cold load (snapshot, then each log row), answering a fresh
 * peer and one that holds half, reading a state vector from stored bytes, diffing a sleeping room's
 * state, validating and merging incoming updates (a commit batch), the messages of the handshake, and
 * presence. Returns the rounds run.
 */
function warmDocumentPaths(opts: Required<WarmUpOptions>): number {
	const started = performance.now();
	const { snapshot, tail } = syntheticIncident();
	const half = new Y.Doc();
	Y.applyUpdate(half, snapshot);
	const halfVector = Y.encodeStateVector(half);
	half.destroy();
	let rounds = 0;
	while (rounds < opts.maxRounds && (rounds === 0 || performance.now() - started < opts.documentBudgetMs)) {
		const doc = new Y.Doc();
		Y.applyUpdate(doc, snapshot);
		for (const row of tail) {
			assertValidUpdate(row);
			Y.applyUpdate(doc, row);
		}
		const state = Y.encodeStateAsUpdate(doc);
		const vector = Y.encodeStateVector(doc);
		decodeClientMessage(encodeSyncStep1(vector));
		decodeClientMessage(encodeSyncStep2(Y.encodeStateAsUpdate(doc, halfVector)));
		decodeClientMessage(encodeUpdate(Y.mergeUpdates(tail.slice(0, 8))));
		Y.encodeStateVectorFromUpdate(state);
		Y.diffUpdate(state, halfVector);
		Y.parseUpdateMeta(tail[0]!);
		listEntries(doc);
		warmPresence();
		doc.destroy();
		rounds++;
	}
	return rounds;
}

/** Presence as a room handles it: a client's awareness update read, stamped, applied and re-encoded. */
function warmPresence(): void {
	const client = new awarenessProtocol.Awareness(new Y.Doc());
	client.setLocalState({ user: { id: 'warm-up', name: 'Warm-up' }, typing: true });
	const sent = awarenessProtocol.encodeAwarenessUpdate(client, [client.clientID]);
	const entries = decodeAwarenessUpdate(sent);
	const room = new awarenessProtocol.Awareness(new Y.Doc());
	room.setLocalState(null);
	const stamped = encodeAwarenessUpdate(entries);
	awarenessProtocol.applyAwarenessUpdate(room, stamped, 'warm-up');
	decodeClientMessage(encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(room, [...room.getStates().keys()])));
	client.destroy();
	room.destroy();
}
