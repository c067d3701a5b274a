/**
 * Who may do what: decided by the user's global role, their role in the incident (if they are a
 * member), and whether the incident is restricted. Services call `can`/`authorize` before any write;
 * routes map the `forbidden` error. The collab socket asks `isReadOnly`.
 *
 * Rules (the spec's role × operation table is the reference; change both together):
 * - **Global operations** (`declare`, `propose`, `view_board`, `admin_*`, `manage_api_tokens`) depend
 *   on the global role only: admins all; managers declare, propose, view the board; responders
 *   propose and view the board; viewers view the board.
 * - **Restricted incidents** are open only to their members and admins. A non-member gets nothing —
 *   except an admin, who may view, export and assign roles (to add people, themselves included, so
 *   any further work is done as an audited member). Every other write on a restricted incident needs
 *   membership, even for admins.
 * - **Admins and managers** act as incident manager on every incident they can access, plus
 *   `accept_proposal`, `override_approval` (send a report when the incident manager cannot approve)
 *   and `ack_head_office_report`. Their incident role never narrows this: a manager who joined as an
 *   observer can still take command.
 * - **Viewers** (executives, head office) are read-only everywhere whatever incident role they hold:
 *   they view accessible incidents and the board, acknowledge head-office reports and request updates.
 * - **Responders** who are not members can view non-restricted incidents and request updates; as
 *   members their incident role decides (see `INCIDENT_ROLE_OPERATIONS`). A member with no role is
 *   treated as an observer (least privilege).
 * - **Observers** are read-only. **Incident managers** approve reports and status updates, their own
 *   drafts included. A **deputy** acts for the incident manager but may approve only what someone
 *   else drafted (four eyes), and does not publish or waive the review (that is the sign-off).
 * - `acknowledge_page` needs membership for everyone (only members are paged); it is allowed to
 *   viewers and observers too, since acknowledging one's own page writes nothing to the incident and
 *   an unacknowledged page would keep re-paging them.
 */
import type { DomainError, Result } from './result';
import { err, ok } from './result';
import type { GlobalRole, IncidentRole } from './roles';

export const GLOBAL_OPERATIONS = [
	'declare',
	'propose',
	'view_board',
	'admin_users',
	'admin_services',
	'admin_channels',
	'admin_playbooks',
	'manage_api_tokens'
] as const;
export type GlobalOperation = (typeof GLOBAL_OPERATIONS)[number];

export const INCIDENT_OPERATIONS = [
	'view_incident',
	'edit_incident',
	'change_status',
	'change_priority',
	'accept_proposal',
	'assign_roles',
	'acknowledge_page',
	'write_timeline',
	'draft_report',
	'approve_report',
	'override_approval',
	'ack_head_office_report',
	'request_update',
	'write_status_update',
	'approve_status_update',
	'load_playbook',
	'tick_checklist',
	'write_review',
	'publish_review',
	'waive_review',
	'manage_action_items',
	'export_incident'
] as const;
export type IncidentOperation = (typeof INCIDENT_OPERATIONS)[number];

export const OPERATIONS = [...INCIDENT_OPERATIONS, ...GLOBAL_OPERATIONS] as const;
export type Operation = GlobalOperation | IncidentOperation;

export function isOperation(value: unknown): value is Operation {
	return typeof value === 'string' && (OPERATIONS as readonly string[]).includes(value);
}

export function isGlobalOperation(op: Operation): op is GlobalOperation {
	return (GLOBAL_OPERATIONS as readonly string[]).includes(op);
}

const GLOBAL_OPERATION_ROLES: Readonly<Record<GlobalOperation, readonly GlobalRole[]>> = {
	declare: ['admin', 'manager'],
	propose: ['admin', 'manager', 'responder'],
	view_board: ['admin', 'manager', 'responder', 'viewer'],
	admin_users: ['admin'],
	admin_services: ['admin'],
	admin_channels: ['admin'],
	admin_playbooks: ['admin'],
	manage_api_tokens: ['admin']
};

/** What any member may do, observers included. */
const MEMBER_READ: readonly IncidentOperation[] = ['view_incident', 'request_update', 'acknowledge_page'];
/** What every working (non-observer) member may do. */
const MEMBER_WRITE: readonly IncidentOperation[] = [...MEMBER_READ, 'write_timeline', 'tick_checklist', 'write_review'];
const COMMAND: readonly IncidentOperation[] = [
	...MEMBER_WRITE,
	'edit_incident',
	'change_status',
	'change_priority',
	'assign_roles',
	'draft_report',
	'approve_report',
	'write_status_update',
	'approve_status_update',
	'load_playbook',
	'manage_action_items',
	'export_incident'
];

/** What a responder may do as a member in each incident role. */
export const INCIDENT_ROLE_OPERATIONS: Readonly<Record<IncidentRole, readonly IncidentOperation[]>> = {
	incident_manager: [...COMMAND, 'publish_review', 'waive_review'],
	deputy: COMMAND,
	communications_lead: [...MEMBER_WRITE, 'draft_report', 'write_status_update', 'export_incident'],
	scribe: [...MEMBER_WRITE, 'manage_action_items', 'export_incident'],
	technical_lead: [...MEMBER_WRITE, 'load_playbook', 'manage_action_items'],
	vendor_liaison: MEMBER_WRITE,
	service_desk: MEMBER_WRITE,
	responder: MEMBER_WRITE,
	observer: MEMBER_READ
};

/** An admin who is not a member of a restricted incident: see it, export it, add members. */
const ADMIN_RESTRICTED_NON_MEMBER: readonly IncidentOperation[] = ['view_incident', 'export_incident', 'assign_roles'];

const VIEWER_OPERATIONS: readonly IncidentOperation[] = ['view_incident', 'request_update', 'ack_head_office_report'];

const APPROVALS: readonly IncidentOperation[] = ['approve_report', 'approve_status_update'];

export interface PermissionInput {
	globalRole: GlobalRole;
	/** The user's role in this incident; counts only when `member` is true. */
	incidentRole?: IncidentRole | null;
	member: boolean;
	restricted: boolean;
	operation: Operation;
	/** For approvals: the actor drafted the report or update being approved. */
	ownDraft?: boolean;
}

/** Why an operation is refused; `params.reason` in the `forbidden` error, for i18n. */
export type DenialReason = 'role' | 'restricted' | 'not_member' | 'read_only' | 'own_draft';

function denial(input: PermissionInput): DenialReason | null {
	const { globalRole, member, restricted, operation } = input;

	if (isGlobalOperation(operation)) {
		return GLOBAL_OPERATION_ROLES[operation].includes(globalRole) ? null : 'role';
	}

	if (restricted && !member) {
		return globalRole === 'admin' && ADMIN_RESTRICTED_NON_MEMBER.includes(operation) ? null : 'restricted';
	}
	if (operation === 'acknowledge_page') return member ? null : 'not_member';
	if (globalRole === 'admin' || globalRole === 'manager') return null;
	if (globalRole === 'viewer') return VIEWER_OPERATIONS.includes(operation) ? null : 'read_only';

	// A responder.
	if (operation === 'view_incident' || operation === 'request_update') return null;
	if (!member) return 'not_member';
	const role: IncidentRole = input.incidentRole ?? 'observer';
	if (!INCIDENT_ROLE_OPERATIONS[role].includes(operation)) {
		return role === 'observer' ? 'read_only' : 'role';
	}
	if (role === 'deputy' && input.ownDraft && APPROVALS.includes(operation)) return 'own_draft';
	return null;
}

export function can(input: PermissionInput): boolean {
	return denial(input) === null;
}

const REASON_TEXT: Record<DenialReason, string> = {
	role: 'your role does not allow it',
	restricted: 'this incident is restricted to its members',
	not_member: 'you are not a member of this incident',
	read_only: 'your access is read-only',
	own_draft: 'a deputy cannot approve their own draft'
};

/** The `forbidden` error to return when `can` is false, or null when the operation is allowed. */
export function whyNot(input: PermissionInput): DomainError | null {
	const reason = denial(input);
	if (reason === null) return null;
	return {
		code: 'forbidden',
		message: `Not allowed to ${input.operation}: ${REASON_TEXT[reason]}`,
		params: { operation: input.operation, reason }
	};
}

/** `whyNot` as a Result, for services that bail out with `if (!r.ok) return r`. */
export function authorize(input: PermissionInput): Result<true> {
	const e = whyNot(input);
	return e ? err(e) : ok(true);
}

/**
 * Whether the user may only read the incident's shared document (timeline, notes, checklist, review
 * narrative): the collab socket then drops their sync-step-2 and update messages. Same rule as
 * `write_timeline`. `member` defaults to "has an incident role", `restricted` to false.
 */
export function isReadOnly(input: {
	globalRole: GlobalRole;
	incidentRole?: IncidentRole | null;
	member?: boolean;
	restricted?: boolean;
}): boolean {
	return !can({
		globalRole: input.globalRole,
		incidentRole: input.incidentRole ?? null,
		member: input.member ?? input.incidentRole != null,
		restricted: input.restricted ?? false,
		operation: 'write_timeline'
	});
}

/** Viewers may hold only the observer role: any other role would promise work they cannot do. */
export function canHoldIncidentRole(globalRole: GlobalRole, incidentRole: IncidentRole): boolean {
	return globalRole !== 'viewer' || incidentRole === 'observer';
}
