import { describe, expect, it } from 'vitest';
import {
	OPERATIONS,
	authorize,
	can,
	canHoldIncidentRole,
	isOperation,
	isReadOnly,
	whyNot,
	type Operation,
	type PermissionInput
} from './permissions';
import { GLOBAL_ROLES, INCIDENT_ROLES } from './roles';

type Actor = Omit<PermissionInput, 'operation'>;

/** The actors of the table: one column each. "Open" is a non-restricted incident. */
// prettier-ignore
const ACTORS: Record<string, Actor> = {
	A:   { globalRole: 'admin',      incidentRole: null,                  member: false, restricted: false },
	Ar:  { globalRole: 'admin',      incidentRole: null,                  member: false, restricted: true },
	M:   { globalRole: 'manager',    incidentRole: null,                  member: false, restricted: false },
	Mr:  { globalRole: 'manager',    incidentRole: null,                  member: false, restricted: true },
	Mo:  { globalRole: 'manager',    incidentRole: 'observer',            member: true,  restricted: true },
	R:   { globalRole: 'responder',  incidentRole: null,                  member: false, restricted: false },
	Rr:  { globalRole: 'responder',  incidentRole: null,                  member: false, restricted: true },
	IM:  { globalRole: 'responder',  incidentRole: 'incident_manager',    member: true,  restricted: false },
	DP:  { globalRole: 'responder',  incidentRole: 'deputy',              member: true,  restricted: false },
	DPo: { globalRole: 'responder',  incidentRole: 'deputy',              member: true,  restricted: false, ownDraft: true },
	CL:  { globalRole: 'responder',  incidentRole: 'communications_lead', member: true,  restricted: false },
	SC:  { globalRole: 'responder',  incidentRole: 'scribe',              member: true,  restricted: false },
	TL:  { globalRole: 'responder',  incidentRole: 'technical_lead',      member: true,  restricted: false },
	VL:  { globalRole: 'responder',  incidentRole: 'vendor_liaison',      member: true,  restricted: false },
	SD:  { globalRole: 'responder',  incidentRole: 'service_desk',        member: true,  restricted: false },
	RS:  { globalRole: 'responder',  incidentRole: 'responder',           member: true,  restricted: false },
	RSr: { globalRole: 'responder',  incidentRole: 'responder',           member: true,  restricted: true },
	OB:  { globalRole: 'responder',  incidentRole: 'observer',            member: true,  restricted: false },
	V:   { globalRole: 'viewer',     incidentRole: null,                  member: false, restricted: false },
	Vr:  { globalRole: 'viewer',     incidentRole: null,                  member: false, restricted: true },
	Vm:  { globalRole: 'viewer',     incidentRole: 'observer',            member: true,  restricted: true },
	Vim: { globalRole: 'viewer',     incidentRole: 'incident_manager',    member: true,  restricted: false }
};

// A   admin, not a member, open incident       Ar  admin, not a member, restricted incident
// M   manager, not a member, open              Mr  manager, not a member, restricted
// Mo  manager, member as observer, restricted  R   responder, not a member, open
// Rr  responder, not a member, restricted      IM  responder as incident manager
// DP  responder as deputy                      DPo deputy approving their own draft
// CL  communications lead   SC scribe   TL technical lead   VL vendor liaison   SD service desk
// RS  responder role, open  RSr responder role, restricted   OB observer (responder)
// V   viewer, not a member, open               Vr  viewer, not a member, restricted
// Vm  viewer as observer, restricted           Vim viewer holding incident_manager (still read-only)
// Y = allowed, . = refused. Written out by hand from the rules in permissions.ts, not generated.
// prettier-ignore
const TABLE: Record<Operation, string> = {
	//                         A   Ar  M   Mr  Mo  R   Rr  IM  DP  DPo CL  SC  TL  VL  SD  RS  RSr OB  V   Vr  Vm  Vim
	view_incident:            'Y   Y   Y   .   Y   Y   .   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   .   Y   Y',
	edit_incident:            'Y   .   Y   .   Y   .   .   Y   Y   Y   .   .   .   .   .   .   .   .   .   .   .   .',
	change_status:            'Y   .   Y   .   Y   .   .   Y   Y   Y   .   .   .   .   .   .   .   .   .   .   .   .',
	change_priority:          'Y   .   Y   .   Y   .   .   Y   Y   Y   .   .   .   .   .   .   .   .   .   .   .   .',
	accept_proposal:          'Y   .   Y   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .',
	assign_roles:             'Y   Y   Y   .   Y   .   .   Y   Y   Y   .   .   .   .   .   .   .   .   .   .   .   .',
	acknowledge_page:         '.   .   .   .   Y   .   .   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   .   .   Y   Y',
	write_timeline:           'Y   .   Y   .   Y   .   .   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   .   .   .   .   .',
	draft_report:             'Y   .   Y   .   Y   .   .   Y   Y   Y   Y   .   .   .   .   .   .   .   .   .   .   .',
	approve_report:           'Y   .   Y   .   Y   .   .   Y   Y   .   .   .   .   .   .   .   .   .   .   .   .   .',
	override_approval:        'Y   .   Y   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .',
	ack_head_office_report:   'Y   .   Y   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   Y   .   Y   Y',
	request_update:           'Y   .   Y   .   Y   Y   .   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   .   Y   Y',
	write_status_update:      'Y   .   Y   .   Y   .   .   Y   Y   Y   Y   .   .   .   .   .   .   .   .   .   .   .',
	approve_status_update:    'Y   .   Y   .   Y   .   .   Y   Y   .   .   .   .   .   .   .   .   .   .   .   .   .',
	load_playbook:            'Y   .   Y   .   Y   .   .   Y   Y   Y   .   .   Y   .   .   .   .   .   .   .   .   .',
	tick_checklist:           'Y   .   Y   .   Y   .   .   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   .   .   .   .   .',
	write_review:             'Y   .   Y   .   Y   .   .   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   .   .   .   .   .',
	publish_review:           'Y   .   Y   .   Y   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .',
	waive_review:             'Y   .   Y   .   Y   .   .   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .',
	manage_action_items:      'Y   .   Y   .   Y   .   .   Y   Y   Y   .   Y   Y   .   .   .   .   .   .   .   .   .',
	export_incident:          'Y   Y   Y   .   Y   .   .   Y   Y   Y   Y   Y   .   .   .   .   .   .   .   .   .   .',
	declare:                  'Y   Y   Y   Y   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .',
	propose:                  'Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   .   .   .   .',
	view_board:               'Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y',
	admin_users:              'Y   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .',
	admin_services:           'Y   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .',
	admin_channels:           'Y   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .',
	admin_playbooks:          'Y   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .',
	manage_api_tokens:        'Y   Y   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .',
};

const COLUMNS = Object.keys(ACTORS);
const CASES = (Object.entries(TABLE) as [Operation, string][]).flatMap(([operation, row]) => {
	const cells = row.split(/\s+/);
	return COLUMNS.map((column, i) => [column, operation, cells[i] === 'Y'] as const);
});

describe('the role × operation table', () => {
	it('has a row for every operation and a cell for every actor', () => {
		expect(Object.keys(TABLE).sort()).toEqual([...OPERATIONS].sort());
		for (const row of Object.values(TABLE)) expect(row.split(/\s+/)).toHaveLength(COLUMNS.length);
	});

	it.each(CASES)('%s may %s: %s', (column, operation, allowed) => {
		expect(can({ ...ACTORS[column]!, operation })).toBe(allowed);
	});
});

describe('whyNot', () => {
	it('returns null when the operation is allowed', () => {
		expect(whyNot({ ...ACTORS.IM!, operation: 'approve_report' })).toBeNull();
	});

	it.each([
		['Rr', 'view_incident', 'restricted', 'this incident is restricted to its members'],
		['Ar', 'write_timeline', 'restricted', 'this incident is restricted to its members'],
		['R', 'write_timeline', 'not_member', 'you are not a member of this incident'],
		['M', 'acknowledge_page', 'not_member', 'you are not a member of this incident'],
		['V', 'write_timeline', 'read_only', 'your access is read-only'],
		['OB', 'tick_checklist', 'read_only', 'your access is read-only'],
		['SD', 'change_status', 'role', 'your role does not allow it'],
		['M', 'admin_users', 'role', 'your role does not allow it'],
		['DPo', 'approve_status_update', 'own_draft', 'a deputy cannot approve their own draft']
	] as const)('refuses %s to %s as %s', (column, operation, reason, text) => {
		const e = whyNot({ ...ACTORS[column]!, operation });
		expect(e).toEqual({
			code: 'forbidden',
			message: `Not allowed to ${operation}: ${text}`,
			params: { operation, reason }
		});
	});

	it('agrees with can for every actor and operation', () => {
		for (const actor of Object.values(ACTORS)) {
			for (const operation of OPERATIONS) {
				expect(whyNot({ ...actor, operation }) === null).toBe(can({ ...actor, operation }));
			}
		}
	});

	it('is available as a Result for services', () => {
		expect(authorize({ ...ACTORS.V!, operation: 'declare' })).toMatchObject({
			ok: false,
			error: { code: 'forbidden' }
		});
		expect(authorize({ ...ACTORS.M!, operation: 'declare' })).toEqual({
			ok: true,
			value: true
		});
	});
});

describe('edge cases of membership', () => {
	it('treats a member with no incident role as an observer', () => {
		const actor: Actor = {
			globalRole: 'responder',
			incidentRole: null,
			member: true,
			restricted: false
		};
		expect(can({ ...actor, operation: 'view_incident' })).toBe(true);
		expect(can({ ...actor, operation: 'write_timeline' })).toBe(false);
	});

	it('ignores an incident role when the user is not a member', () => {
		const actor: Actor = {
			globalRole: 'responder',
			incidentRole: 'incident_manager',
			member: false,
			restricted: false
		};
		expect(can({ ...actor, operation: 'change_status' })).toBe(false);
	});

	it('lets an incident manager approve their own draft, unlike a deputy', () => {
		expect(can({ ...ACTORS.IM!, ownDraft: true, operation: 'approve_report' })).toBe(true);
		expect(can({ ...ACTORS.DP!, ownDraft: true, operation: 'approve_report' })).toBe(false);
	});

	it('never lets a viewer write the timeline, whatever incident role or flags they hold', () => {
		for (const incidentRole of [null, ...INCIDENT_ROLES]) {
			for (const member of [true, false]) {
				for (const restricted of [true, false]) {
					expect(
						can({
							globalRole: 'viewer',
							incidentRole,
							member,
							restricted,
							operation: 'write_timeline'
						})
					).toBe(false);
				}
			}
		}
	});

	it('never lets a non-member who is not an admin do anything with a restricted incident', () => {
		for (const globalRole of GLOBAL_ROLES.filter((r) => r !== 'admin')) {
			for (const operation of OPERATIONS.filter((o) => !['declare', 'propose', 'view_board'].includes(o))) {
				if (operation.startsWith('admin_') || operation === 'manage_api_tokens') continue;
				expect(can({ globalRole, member: false, restricted: true, operation })).toBe(false);
			}
		}
	});
});

describe('isReadOnly', () => {
	it.each([
		[{ globalRole: 'viewer' }, true],
		[{ globalRole: 'viewer', incidentRole: 'observer' }, true],
		[{ globalRole: 'responder', incidentRole: 'observer' }, true],
		[{ globalRole: 'responder', incidentRole: 'scribe' }, false],
		[{ globalRole: 'responder' }, true],
		[{ globalRole: 'manager' }, false],
		[{ globalRole: 'manager', incidentRole: 'observer' }, false],
		[{ globalRole: 'admin' }, false],
		[{ globalRole: 'admin', restricted: true }, true],
		[{ globalRole: 'admin', incidentRole: 'responder', restricted: true }, false],
		[{ globalRole: 'responder', incidentRole: 'responder', member: false }, true]
	] as const)('for %j is %s', (input, expected) => {
		expect(isReadOnly(input)).toBe(expected);
	});
});

describe('other helpers', () => {
	it('lets a viewer hold only the observer role', () => {
		expect(canHoldIncidentRole('viewer', 'observer')).toBe(true);
		expect(canHoldIncidentRole('viewer', 'scribe')).toBe(false);
		expect(canHoldIncidentRole('responder', 'incident_manager')).toBe(true);
	});

	it('recognises operations by name', () => {
		expect(isOperation('write_timeline')).toBe(true);
		expect(isOperation('delete_everything')).toBe(false);
	});
});
