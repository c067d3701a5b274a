/**
 * The browser side of one incident's shared document: a Y.Doc synced with `/collab/<incidentId>`
 * through the stock y-websocket provider and kept in IndexedDB (y-indexeddb), so edits made offline
 * survive a reload and merge on reconnect. It exposes runes state for the screen: connection state,
 * the number of local changes the server has not acknowledged yet (acks come only after the database
 * commit, docs/collab.md), presence, the sorted timeline and the notes.
 *
 * Components share one instance per incident through `acquireIncidentRoom` / `releaseIncidentRoom`.
 */
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { WebsocketProvider } from 'y-websocket';
import { IndexeddbPersistence } from 'y-indexeddb';
import {
	applyTextDiff,
	createEntry,
	listEntries,
	notesOf,
	restoreEntry,
	setEntryText,
	setEntryTime,
	setPinned,
	softDelete,
	timelineOf,
	findEntry,
	type TimelineEntry,
	type TimelineKind
} from './incident-doc';

/** Must match the server's MESSAGE_ACK (src/lib/server/collab/protocol.ts). */
const MESSAGE_ACK = 100;
const MESSAGE_SYNC = 0;
const SYNC_STEP_2 = 1;
const SYNC_UPDATE = 2;
/** Unacknowledged updates are also kept in localStorage (for the count after a reload); above this they are merged. */
const UNSAVED_STORE_MAX_CHARS = 1_000_000;
/** Stop showing "typing…" if the person stopped without leaving the box. */
const TYPING_IDLE_MS = 4000;
/** Origin of re-applying remembered unsaved updates at start-up: already counted, not new local edits. */
const RESTORE_ORIGIN = 'restore';

export type ConnectionStatus = 'connecting' | 'live' | 'offline';

export interface PresenceUser {
	id: string;
	name: string;
	typing: boolean;
	/** Number of open tabs/devices of this user in the room. */
	sessions: number;
	self: boolean;
}

export interface IncidentRoomOptions {
	incidentId: string;
	currentUser: { id: string; name: string };
	readOnly?: boolean;
	/** ws(s)://host/collab; defaults to this page's origin. */
	serverUrl?: string;
	/** Keep the document in IndexedDB (default true in browsers). */
	persist?: boolean;
	/** The WebSocket class to extend (tests in Node pass `ws`). */
	WebSocketImpl?: typeof WebSocket;
}

interface Pending {
	update: Uint8Array;
	/** How many local changes this stands for (restored entries may be merged). */
	weight: number;
	socket: WebSocket | null;
	messageNo: number;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.byteLength !== b.byteLength) return false;
	for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
	return true;
}

function toBase64(bytes: Uint8Array): string {
	let s = '';
	for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return btoa(s);
}

function fromBase64(text: string): Uint8Array {
	const s = atob(text);
	const out = new Uint8Array(s.length);
	for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
	return out;
}

export class IncidentRoom {
	status = $state<ConnectionStatus>('connecting');
	/** Local changes not yet acknowledged as committed by the server. */
	unsaved = $state(0);
	/** The document has been read from IndexedDB (or there is nothing to read). */
	localReady = $state(false);
	/** Synced with the server at least once in this page. */
	everSynced = $state(false);
	presence = $state.raw<PresenceUser[]>([]);
	/** Live entries, sorted by event time (soft-deleted ones left out). */
	entries = $state.raw<TimelineEntry[]>([]);
	/** Soft-deleted entries, for an "show deleted" view. */
	deleted = $state.raw<TimelineEntry[]>([]);
	notes = $state('');

	readonly incidentId: string;
	readonly readOnly: boolean;
	readonly doc = new Y.Doc();
	readonly provider: WebsocketProvider;
	private readonly idb: IndexeddbPersistence | undefined;
	private readonly user: { id: string; name: string };
	private pending: Pending[] = [];
	private refreshQueued = false;
	private typingTimer: ReturnType<typeof setTimeout> | undefined;
	private readonly cleanups: (() => void)[] = [];
	private destroyed = false;

	constructor(opts: IncidentRoomOptions) {
		this.incidentId = opts.incidentId;
		this.readOnly = opts.readOnly ?? false;
		this.user = { ...opts.currentUser };
		const persist = opts.persist ?? typeof indexedDB !== 'undefined';

		// Our listener goes first, so a local update is recorded as pending before the provider sends it.
		const onUpdate = (update: Uint8Array, origin: unknown) => {
			if (!this.readOnly && origin !== this.provider && origin !== this.idb && origin !== RESTORE_ORIGIN) this.trackLocal(update);
			this.queueRefresh();
		};
		this.doc.on('update', onUpdate);
		this.restoreUnsaved();

		if (persist) {
			this.idb = new IndexeddbPersistence(`warroom-incident-${opts.incidentId}`, this.doc);
			void this.idb.whenSynced.then(() => {
				this.localReady = true;
				this.queueRefresh();
			});
		} else this.localReady = true;

		this.provider = new WebsocketProvider(opts.serverUrl ?? defaultServerUrl(), opts.incidentId, this.doc, {
			WebSocketPolyfill: this.socketClass(opts.WebSocketImpl ?? WebSocket),
			// Acks are opt-in so the stock client, which does not know them, is not sent any.
			params: { acks: '1' },
			maxBackoffTime: 5000
		});
		this.provider.messageHandlers[MESSAGE_ACK] = (_encoder, decoder, provider) => {
			this.onAck(provider.ws, decoding.readVarUint(decoder));
		};
		this.provider.on('status', ({ status }) => {
			if (status === 'disconnected') this.status = 'offline';
			else if (status === 'connecting' && this.status !== 'offline') this.status = 'connecting';
		});
		this.provider.on('sync', (isSynced: boolean) => {
			if (isSynced) {
				this.status = 'live';
				this.everSynced = true;
			}
		});
		this.provider.on('connection-close', (event) => {
			// 44xx: the server decided (signed out, access revoked); the provider stops retrying.
			if (event && event.code >= 4400 && event.code < 4500) this.status = 'offline';
		});

		const awareness = this.provider.awareness;
		awareness.setLocalStateField('user', { id: this.user.id, name: this.user.name });
		const onAwareness = () => this.refreshPresence();
		awareness.on('change', onAwareness);
		this.cleanups.push(() => awareness.off('change', onAwareness));

		const notes = notesOf(this.doc);
		const onNotes = () => (this.notes = notes.toString());
		notes.observe(onNotes);
		this.cleanups.push(() => notes.unobserve(onNotes));

		if (typeof window !== 'undefined') {
			// The browser knows it lost the network before the socket times out; entries written now are offline.
			const offline = () => {
				this.status = 'offline';
				this.provider.disconnect();
			};
			const online = () => this.provider.connect();
			window.addEventListener('offline', offline);
			window.addEventListener('online', online);
			this.cleanups.push(() => {
				window.removeEventListener('offline', offline);
				window.removeEventListener('online', online);
			});
			if (navigator.onLine === false) offline();
		}
		this.cleanups.push(() => this.doc.off('update', onUpdate));
		this.queueRefresh();
	}

	/** A WebSocket subclass that numbers our sync-step-2/update messages the way the server counts them. */
	private socketClass(Base: typeof WebSocket): typeof WebSocket {
		// eslint-disable-next-line @typescript-eslint/no-this-alias
		const room = this;
		return class AckCountingSocket extends Base {
			sentWrites = 0;
			send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
				if (data instanceof Uint8Array) room.onSend(this, data);
				super.send(data);
			}
		};
	}

	private onSend(socket: WebSocket & { sentWrites?: number }, data: Uint8Array): void {
		if (this.readOnly) return;
		try {
			const decoder = decoding.createDecoder(data);
			if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) return;
			const sub = decoding.readVarUint(decoder);
			if (sub !== SYNC_STEP_2 && sub !== SYNC_UPDATE) return;
			const n = (socket.sentWrites = (socket.sentWrites ?? 0) + 1);
			if (sub === SYNC_STEP_2) {
				// Step 2 carries everything the server lacked: it covers every update not yet sent on this socket.
				for (const p of this.pending) if (p.socket !== socket) Object.assign(p, { socket, messageNo: n });
			} else {
				const payload = decoding.readVarUint8Array(decoder);
				const p = this.pending.find((x) => x.socket !== socket && equalBytes(x.update, payload));
				if (p) Object.assign(p, { socket, messageNo: n });
			}
		} catch (error) {
			// We only read our own outgoing frames; if that fails the count may lag, but sending goes on.
			console.warn('collab: could not read an outgoing frame', error);
		}
	}

	private onAck(socket: WebSocket | null, count: number): void {
		if (!socket) return;
		const before = this.pending.length;
		this.pending = this.pending.filter((p) => !(p.socket === socket && p.messageNo <= count));
		if (this.pending.length !== before) this.pendingChanged();
	}

	private trackLocal(update: Uint8Array): void {
		this.pending.push({ update, weight: 1, socket: null, messageNo: 0 });
		this.pendingChanged();
	}

	private get storeKey(): string {
		return `warroom.collab.unsaved.${this.incidentId}`;
	}

	private pendingChanged(): void {
		this.unsaved = this.pending.reduce((n, p) => n + p.weight, 0);
		if (typeof localStorage === 'undefined') return;
		try {
			if (this.pending.length === 0) return localStorage.removeItem(this.storeKey);
			let items = this.pending.map((p) => ({ u: toBase64(p.update), w: p.weight }));
			let json = JSON.stringify(items);
			if (json.length > UNSAVED_STORE_MAX_CHARS) {
				// Too many to keep one by one: keep them as one merged update with the total count.
				items = [{ u: toBase64(Y.mergeUpdates(this.pending.map((p) => p.update))), w: this.unsaved }];
				json = JSON.stringify(items);
			}
			localStorage.setItem(this.storeKey, json);
		} catch (error) {
			// Storage full or disabled: the document itself is still in IndexedDB; only the count may be off after a reload.
			console.warn('collab: could not remember unsaved changes', error);
		}
	}

	private restoreUnsaved(): void {
		if (this.readOnly || typeof localStorage === 'undefined') return;
		try {
			const raw = localStorage.getItem(this.storeKey);
			if (!raw) return;
			const items = JSON.parse(raw) as { u: string; w: number }[];
			this.pending = items.map((i) => ({ update: fromBase64(i.u), weight: i.w, socket: null, messageNo: 0 }));
			// They are in IndexedDB already; applying them again is a no-op but covers a cleared IndexedDB.
			for (const p of this.pending) Y.applyUpdate(this.doc, p.update, RESTORE_ORIGIN);
			this.unsaved = this.pending.reduce((n, p) => n + p.weight, 0);
		} catch (error) {
			console.warn('collab: ignoring an unreadable unsaved-changes record', error);
			localStorage.removeItem(this.storeKey);
		}
	}

	private queueRefresh(): void {
		if (this.refreshQueued) return;
		this.refreshQueued = true;
		// Coalesce: a sync can deliver hundreds of changes in one go; sort once.
		queueMicrotask(() => {
			this.refreshQueued = false;
			if (this.destroyed) return;
			const all = listEntries(this.doc, { includeDeleted: true });
			this.entries = all.filter((e) => !e.deletedAt);
			this.deleted = all.filter((e) => e.deletedAt);
			this.notes = notesOf(this.doc).toString();
		});
	}

	private refreshPresence(): void {
		// A scratch map for grouping; the result is assigned to $state.raw, so it needs no reactivity.
		// eslint-disable-next-line svelte/prefer-svelte-reactivity
		const byUser = new Map<string, PresenceUser>();
		for (const [clientId, state] of this.provider.awareness.getStates()) {
			const user = (state as { user?: { id?: unknown; name?: unknown } }).user;
			if (!user || typeof user.id !== 'string') continue;
			const typing = (state as { typing?: unknown }).typing === true;
			const self = clientId === this.doc.clientID;
			const prev = byUser.get(user.id);
			if (prev) {
				prev.sessions++;
				prev.typing ||= typing;
				prev.self ||= self;
			} else byUser.set(user.id, { id: user.id, name: typeof user.name === 'string' ? user.name : '', typing, sessions: 1, self });
		}
		this.presence = [...byUser.values()].sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
	}

	private assertWritable(): void {
		if (this.readOnly) throw new Error('This incident is read-only for you');
	}

	/** Adds an entry; throws IncidentDocError (with a clear message) for bad input. */
	addEntry(input: { kind: TimelineKind; text: string; at?: Date | string }): string {
		this.assertWritable();
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a timestamp, never mutated
		const now = new Date();
		return createEntry(this.doc, {
			id: crypto.randomUUID(),
			at: input.at ?? now,
			recordedAt: now,
			kind: input.kind,
			text: input.text.trim(),
			author: this.user.id,
			authorName: this.user.name,
			offline: this.status !== 'live'
		});
	}

	editText(id: string, text: string): void {
		this.assertWritable();
		setEntryText(this.doc, id, text);
	}

	editTime(id: string, at: Date | string): void {
		this.assertWritable();
		setEntryTime(this.doc, id, at);
	}

	togglePin(id: string): void {
		this.assertWritable();
		const entry = findEntry(this.doc, id);
		setPinned(this.doc, id, entry?.get('pinned') !== true);
	}

	softDelete(id: string): void {
		this.assertWritable();
		softDelete(this.doc, { id, by: this.user.id, at: nowIso() });
	}

	restore(id: string): void {
		this.assertWritable();
		restoreEntry(this.doc, id);
	}

	/** Binds the notes textarea: only the changed span is written, so concurrent edits merge. */
	setNotes(value: string): void {
		this.assertWritable();
		applyTextDiff(notesOf(this.doc), value);
	}

	/** Presence: "typing…" while the person types, cleared after a pause. */
	setTyping(typing: boolean): void {
		const awareness = this.provider.awareness;
		if (this.typingTimer) clearTimeout(this.typingTimer);
		if ((awareness.getLocalState() as { typing?: boolean } | null)?.typing !== typing) awareness.setLocalStateField('typing', typing);
		if (typing) this.typingTimer = setTimeout(() => this.setTyping(false), TYPING_IDLE_MS);
	}

	/** The timeline's Y.Array (for features that observe it directly). */
	get timeline(): Y.Array<Y.Map<unknown>> {
		return timelineOf(this.doc);
	}

	destroy(): void {
		if (this.destroyed) return;
		this.destroyed = true;
		if (this.typingTimer) clearTimeout(this.typingTimer);
		for (const c of this.cleanups) c();
		this.provider.destroy();
		void this.idb?.destroy();
		this.doc.destroy();
	}
}

function nowIso(): string {
	return new Date(Date.now()).toISOString();
}

function defaultServerUrl(): string {
	if (typeof location === 'undefined') throw new Error('IncidentRoom: serverUrl is required outside the browser');
	return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/collab`;
}

// A registry, not UI state: nothing renders from it.
// eslint-disable-next-line svelte/prefer-svelte-reactivity
const shared = new Map<string, { room: IncidentRoom; refs: number }>();

/** One room per incident and page, shared by the timeline, notes, presence and status components. */
export function acquireIncidentRoom(opts: IncidentRoomOptions): IncidentRoom {
	const key = `${opts.incidentId}\u0000${opts.currentUser.id}\u0000${opts.readOnly ? 'r' : 'w'}`;
	let slot = shared.get(key);
	if (!slot) {
		slot = { room: new IncidentRoom(opts), refs: 0 };
		shared.set(key, slot);
	}
	slot.refs++;
	return slot.room;
}

export function releaseIncidentRoom(room: IncidentRoom): void {
	for (const [key, slot] of shared) {
		if (slot.room !== room) continue;
		slot.refs--;
		if (slot.refs <= 0) {
			shared.delete(key);
			room.destroy();
		}
		return;
	}
}
