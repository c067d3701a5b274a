/**
 * Who may open which incident's room, and whether they may write. The incidents feature owns the real
 * rule (membership, incident roles, restricted incidents) and installs it with `setAccessResolver`;
 * until then the global role decides, which is what a deployment without incidents can know.
 *
 * A resolver reads what decides access to one room for everyone (the incident, its members) and
 * returns the rule as a function of the user: a storm of upgrades to one room then reads the room's
 * facts once, whoever the users are, and each upgrade decides with the user its session already
 * holds. A re-check of an open socket reads both afresh.
 */
import type { AppContext } from '../context';
import type { UserRow } from '../db/schema';

export type RoomAccess = 'write' | 'read' | 'none';
/** The user's own facts a decision needs: from the validated session on an upgrade, read afresh on a re-check. */
export type RoomUser = Pick<UserRow, 'id' | 'global_role' | 'disabled'>;
/** One room's rule, read once: what a given user may do there. */
export type RoomPolicy = (user: RoomUser) => RoomAccess;
export type AccessResolver = (ctx: AppContext, incidentId: string) => Promise<RoomPolicy>;

/** Room names are incident ids: a UUID, or another short URL-safe token (tests, future id schemes). */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isRoomName(value: string): boolean {
	return ROOM_NAME_PATTERN.test(value);
}

/** The rule of a room that does not exist (or cannot): nobody gets in. */
export const NOBODY: RoomPolicy = () => 'none';

export const defaultAccessResolver: AccessResolver = async (_ctx, incidentId) => {
	// Incident ids are UUIDs; anything else cannot be an incident, so nobody gets in.
	if (!UUID_PATTERN.test(incidentId)) return NOBODY;
	return (user) => (user.disabled ? 'none' : user.global_role === 'viewer' ? 'read' : 'write');
};

let current: AccessResolver = defaultAccessResolver;

/** Installed once at start-up by the incidents feature; every later upgrade and re-check uses it. */
export function setAccessResolver(fn: AccessResolver): void {
	current = fn;
}

export function getAccessResolver(): AccessResolver {
	return current;
}
