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
