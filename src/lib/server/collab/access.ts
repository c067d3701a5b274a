/**
 * Who may open which incident's room, and whether they may write. The incidents feature owns the real
 * rule (membership, incident roles, restricted incidents) and installs it with `setAccessResolver`;
 * until then the global role decides, which is what a deployment without incidents can know.
 */
import type { AppContext } from '../context';
import * as users from '../repositories/users.repository';

export type RoomAccess = 'write' | 'read' | 'none';
export type AccessResolver = (ctx: AppContext, opts: { userId: string; incidentId: string }) => Promise<RoomAccess>;

/** Room names are incident ids: a UUID, or another short URL-safe token (tests, future id schemes). */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isRoomName(value: string): boolean {
	return ROOM_NAME_PATTERN.test(value);
}

export const defaultAccessResolver: AccessResolver = async (ctx, { userId, incidentId }) => {
	// Incident ids are UUIDs; anything else cannot be an incident, so nobody gets in.
	if (!UUID_PATTERN.test(incidentId)) return 'none';
	const user = await users.findById(ctx.db, userId);
	if (!user || user.disabled) return 'none';
	return user.global_role === 'viewer' ? 'read' : 'write';
};

let current: AccessResolver = defaultAccessResolver;

/** Installed once at start-up by the incidents feature; every later upgrade and re-check uses it. */
export function setAccessResolver(fn: AccessResolver): void {
	current = fn;
}

export function getAccessResolver(): AccessResolver {
	return current;
}
