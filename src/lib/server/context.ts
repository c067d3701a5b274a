/**
 * What every service needs, passed explicitly (no hidden singletons in services, so integration
 * tests build one per database). The running app builds exactly one in `app.ts`.
 */
import type { Config } from './config';
import type { Db, DbKind } from './db/index';
import type { EventBus } from './events';

export interface AppContext {
	db: Db;
	dbKind: DbKind;
	config: Config;
	events: EventBus;
	/** The clock; tests pass a fixed one. */
	now(): Date;
	/** The live collaboration rooms of this process, when the collab module runs (see collab/). */
	collab?: CollabPort;
	/** Outbound and in-app notifications, when the notify module runs (see notify/). */
	notify?: NotifyPort;
}

/** Timeline entry kinds of the shared incident document (README: "The shared incident document"). */
export type TimelineKind = 'note' | 'observation' | 'action' | 'decision' | 'communication' | 'status' | 'role' | 'escalation' | 'playbook';

export interface SystemEntry {
	kind: TimelineKind;
	/** Bilingual text; the document stores `text` in the organisation's default language plus both in `i18n`. */
	text: { 'zh-CN': string; en: string };
	at?: Date;
	pinned?: boolean;
}

export interface CollabPort {
	/** After a service commits a fact: append a system entry (origin `server`) to the incident's document. */
	appendSystemEntry(incidentId: string, entry: SystemEntry): Promise<void>;
	/** Apply a change to the incident's shared document as the server (e.g. playbook checklist). */
	transact(incidentId: string, fn: (doc: import('yjs').Doc) => void): Promise<void>;
	/** Read a snapshot of the document (exports, review drafts). */
	read<T>(incidentId: string, fn: (doc: import('yjs').Doc) => T): Promise<T>;
	/** Whether changes are being committed (the health check reports it). */
	saveState?(): CollabSaveState;
}

/** The collaboration server's saving, as `/api/health` reports it. */
export interface CollabSaveState {
	/** `failing`: commits fail and are retried with back-off; the changes wait, unacknowledged. */
	saving: 'ok' | 'failing';
	/** Changes received and not committed yet (waiting for the next flush, or for the database). */
	unsavedUpdates: number;
	/** While failing: since when (ISO 8601). The error itself is logged, not published. */
	failingSince?: string;
}

export interface NotifyInput {
	/** Event type, e.g. 'incident.declared', 'member.paged', 'report.approved'. */
	event: string;
	incidentId?: string | null;
	/** In-app recipients (user ids). */
	recipients: string[];
	title: { 'zh-CN': string; en: string };
	body: { 'zh-CN': string; en: string };
	/** Path inside the app, e.g. /incidents/<id>. */
	link?: string;
	/** Restricted incidents never go to outbound channels with content: only a neutral notice. */
	restricted?: boolean;
	/** Stable key: the same key twice sends once (jobs can be re-run). */
	dedupeKey?: string;
}

export interface NotifyPort {
	send(input: NotifyInput): Promise<void>;
}

/** Who is acting: a signed-in user (via session or API token) or the system (jobs). */
export interface Actor {
	kind: 'user' | 'system';
	userId: string | null;
	globalRole: 'admin' | 'manager' | 'responder' | 'viewer' | 'system';
	displayName: string;
	orgUnitId: string | null;
	/** API token scopes, when acting through a token. */
	scopes?: string[];
}

export const SYSTEM_ACTOR: Actor = {
	kind: 'system',
	userId: null,
	globalRole: 'system',
	displayName: 'Warroom',
	orgUnitId: null
};
