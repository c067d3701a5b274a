/**
 * Access (issue 10), over every path of the production build: each page and endpoint (GET), each form
 * action (POST, as the browser sends it), search, exports, notifications, the board and share links,
 * as each kind of actor, compared with what the permission module (`can`) or the route's declared
 * rule says. The routes and actions are discovered from `src/routes`: one without a table entry fails.
 *
 * A probe sends input that reaches the permission check but is otherwise invalid or harmless, so the
 * answer tells "allowed" (anything but a refusal) from "refused" (403, or the 404 that hides an
 * incident) and "sign in first" (401 or a redirect to /login). Paths with an id are probed with a real
 * one: a notification channel (and a failed delivery of it) created by the admin, and a survey link
 * made by the survey service for a resolved incident.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { can, type GlobalOperation, type IncidentOperation } from '../../src/lib/domain/permissions';
import type { GlobalRole, IncidentRole } from '../../src/lib/domain/roles';
import { loadConfig } from '../../src/lib/server/config';
import { openDatabase } from '../../src/lib/server/db/index';
import { EventBus } from '../../src/lib/server/events';
import { findByUsername } from '../../src/lib/server/repositories/users.repository';
import { changeStatus, declareIncident } from '../../src/lib/server/services/incident.service';
import { sendSurveys } from '../../src/lib/server/services/survey.service';
import { actorFromUser } from '../../src/lib/server/services/users.service';
import { startHttpSink, type HttpSink } from '../integration/notify-sinks';
import { Figures } from './support/profile';
import { findAll, formActionsInSource, Http, readableRoutes, type Answer } from './support/http';
import { loginCookie, postLogin, startProdServer, type ProdServer } from './support/prod-server';

const figures = new Figures('access-paths');
const HIDDEN = 'No such incident, or you do not have access to it';
const PASSWORD = 'access-table-password';
const PLAYBOOK = 'internet-banking-portal-outage';

type Outcome = 'allowed' | 'refused' | 'login';

/** Who may use a path: an operation of the permission module, or the route's own declared rule. */
type Rule =
	| { public: true }
	| { signedIn: true }
	| { global: GlobalOperation }
	| { incident: IncidentOperation }
	/** A rule declared in a service, not an operation of the permission module (named for the report). */
	| { roles: GlobalRole[]; declaredIn: string };

interface ActorKind {
	key: string;
	username: string;
	globalRole: GlobalRole;
	/** Membership in both test incidents (open and restricted). */
	role: IncidentRole | null;
	state: 'active' | 'disabled' | 'anonymous';
	cookie: string;
	id: string;
}

interface Fixture {
	open: string;
	restricted: string;
	/** Per incident: a draft head-office report and an action item. */
	report: Record<string, string>;
	item: Record<string, { id: string; version: string }>;
	scratchUser: string;
	period: string;
	shareToken: string;
	revokedToken: string;
	marker: { open: string; restricted: string };
	/** A real notification channel, a failed delivery of it, and a second channel for the delete probe. */
	channel: string;
	delivery: string;
	channelToDelete: string;
	/** The secret of a real, open survey link (`/survey/<token>`). */
	surveyToken: string;
}

function expected(rule: Rule, a: ActorKind, incident?: { restricted: boolean }): Outcome {
	if ('public' in rule) return 'allowed';
	if (a.state !== 'active') return 'login';
	if ('signedIn' in rule) return 'allowed';
	if ('roles' in rule) return rule.roles.includes(a.globalRole) ? 'allowed' : 'refused';
	if ('global' in rule)
		return can({ globalRole: a.globalRole, member: false, restricted: false, operation: rule.global }) ? 'allowed' : 'refused';
	return can({
		globalRole: a.globalRole,
		incidentRole: a.role,
		member: a.role !== null,
		restricted: incident!.restricted,
		operation: rule.incident
	})
		? 'allowed'
		: 'refused';
}

/** The message of a JSON API error (`{ error: { message } }`). */
function apiMessage(body: string): string {
	try {
		return (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? '';
	} catch {
		return '';
	}
}

function outcomeOf(r: Answer, page: boolean): Outcome | 'server error' {
	if (r.status >= 500) return 'server error';
	if (r.status === 401 || (r.location ?? '').startsWith('/login')) return 'login';
	if (r.status === 403) return 'refused';
	if (r.status === 404) {
		// A page with a real id: any 404 hides it. An action: only the incident-hiding 404 is a refusal;
		// another not-found (an unknown channel, say) comes after the permission check passed.
		const message = (r.data?.message as string | undefined) ?? apiMessage(r.body);
		if (page || message === HIDDEN) return 'refused';
	}
	return 'allowed';
}

// ---------------------------------------------------------------------------------------------
// The tables: every route and every form action must have an entry.
// ---------------------------------------------------------------------------------------------

interface PageEntry {
	rule: Rule;
	/** Concrete paths to GET (one per incident for incident routes). */
	paths: (fx: Fixture) => { path: string; incident?: 'open' | 'restricted'; stream?: boolean }[];
}

const perIncident =
	(suffix: string) =>
	(fx: Fixture): { path: string; incident: 'open' | 'restricted' }[] => [
		{ path: `/incidents/${fx.open}${suffix}`, incident: 'open' },
		{ path: `/incidents/${fx.restricted}${suffix}`, incident: 'restricted' }
	];
const one = (p: string | ((fx: Fixture) => string)) => (fx: Fixture) => [{ path: typeof p === 'string' ? p : p(fx) }];

const REPORTS: Rule = { roles: ['admin', 'manager', 'viewer'], declaredIn: 'report.service mayView' };
const REPORTS_GENERATE: Rule = { roles: ['admin', 'manager'], declaredIn: 'report.service mayGenerate' };
const SHARE_LINKS: Rule = { roles: ['admin', 'manager'], declaredIn: 'board.service canManageLinks' };

const PAGES: Record<string, PageEntry> = {
	'/': { rule: { signedIn: true }, paths: one('/') },
	'/actions': { rule: { signedIn: true }, paths: (_fx) => [{ path: '/actions' }, { path: '/actions?scope=all' }] },
	'/admin': { rule: { global: 'admin_users' }, paths: one('/admin') },
	'/admin/audit': { rule: { global: 'admin_users' }, paths: one('/admin/audit') },
	'/admin/channels': { rule: { global: 'admin_channels' }, paths: one('/admin/channels') },
	'/admin/channels/[id]': { rule: { global: 'admin_channels' }, paths: one((fx) => `/admin/channels/${fx.channel}`) },
	'/admin/org': { rule: { global: 'admin_services' }, paths: one('/admin/org') },
	'/admin/policy': { rule: { global: 'admin_channels' }, paths: one('/admin/policy') },
	'/admin/services': { rule: { global: 'admin_services' }, paths: one('/admin/services') },
	'/admin/tokens': { rule: { global: 'manage_api_tokens' }, paths: one('/admin/tokens') },
	'/admin/users': { rule: { global: 'admin_users' }, paths: one('/admin/users') },
	'/admin/users/[id]': { rule: { global: 'admin_users' }, paths: one((fx) => `/admin/users/${fx.scratchUser}`) },
	'/api/events': { rule: { global: 'view_board' }, paths: () => [{ path: '/api/events', stream: true }] },
	'/api/health': { rule: { public: true }, paths: one('/api/health') },
	'/api/notifications/stream': { rule: { signedIn: true }, paths: () => [{ path: '/api/notifications/stream', stream: true }] },
	'/api/v1/incidents': { rule: { signedIn: true }, paths: one('/api/v1/incidents') },
	'/api/v1/incidents/[id]': {
		rule: { incident: 'view_incident' },
		paths: (fx) => perIncident('')(fx).map((p) => ({ ...p, path: `/api/v1${p.path}` }))
	},
	'/api/v1/incidents/[id]/status': { rule: { incident: 'change_status' }, paths: () => [] }, // POST only: see ACTIONS
	'/api/v1/openapi.json': { rule: { public: true }, paths: one('/api/v1/openapi.json') },
	'/board': { rule: { global: 'view_board' }, paths: one('/board') },
	'/board/kiosk': { rule: { global: 'view_board' }, paths: one('/board/kiosk') },
	'/board/links': { rule: SHARE_LINKS, paths: one('/board/links') },
	'/board/share/[token]': { rule: { public: true }, paths: one((fx) => `/board/share/${fx.shareToken}`) },
	'/inbox': { rule: { signedIn: true }, paths: one('/inbox') },
	'/incidents': { rule: { signedIn: true }, paths: one('/incidents?status=all') },
	'/incidents/[id]': { rule: { incident: 'view_incident' }, paths: perIncident('') },
	'/incidents/[id]/contacts': { rule: { incident: 'view_incident' }, paths: perIncident('/contacts') },
	'/incidents/[id]/contacts.csv': { rule: { incident: 'view_incident' }, paths: perIncident('/contacts.csv') },
	'/incidents/[id]/escalation': { rule: { incident: 'view_incident' }, paths: perIncident('/escalation') },
	'/incidents/[id]/playbooks': { rule: { incident: 'view_incident' }, paths: perIncident('/playbooks') },
	'/incidents/[id]/review': { rule: { incident: 'view_incident' }, paths: perIncident('/review') },
	'/incidents/[id]/review/export/[format]': {
		rule: { incident: 'export_incident' },
		paths: (fx) => [...perIncident('/review/export/md')(fx), ...perIncident('/review/export/pdf')(fx)]
	},
	'/incidents/new': { rule: { signedIn: true }, paths: one('/incidents/new') },
	'/login': { rule: { public: true }, paths: () => [] }, // signed-in users are sent on: see the login checks in access.test.ts
	'/logout': { rule: { public: true }, paths: () => [] }, // GET only redirects; logging out is the action
	'/notifications': { rule: { signedIn: true }, paths: one('/notifications') },
	'/playbooks': { rule: { signedIn: true }, paths: one('/playbooks') },
	'/playbooks/[id]': { rule: { signedIn: true }, paths: one(`/playbooks/${PLAYBOOK}`) },
	'/playbooks/[id]/drill': { rule: { signedIn: true }, paths: one(`/playbooks/${PLAYBOOK}/drill`) },
	'/prefs': { rule: { public: true }, paths: one('/prefs') },
	'/reports': { rule: REPORTS, paths: one('/reports') },
	'/reports/[period]': { rule: REPORTS, paths: one((fx) => `/reports/${fx.period}`) },
	'/reports/[period]/export/[format]': {
		rule: REPORTS,
		paths: (fx) => ['csv', 'md'].map((f) => ({ path: `/reports/${fx.period}/export/${f}` }))
	},
	// The real link (open, so the page shows the question) and one that names no survey.
	'/survey/[token]': {
		rule: { public: true },
		paths: (fx) => [{ path: `/survey/${fx.surveyToken}` }, { path: `/survey/${'x'.repeat(43)}` }]
	}
};

interface ActionEntry {
	rule: Rule;
	/** Incident-scoped actions run once per incident; the form gets the incident's id. */
	perIncident?: boolean;
	/** How this action says "done" when that is not the usual answer (login and logout). */
	outcome?: (r: Answer) => Outcome | 'server error';
	/** Not run per actor (it would end the actor's session): run with a throwaway session instead. */
	throwaway?: boolean;
	form: (fx: Fixture, incident: string) => Record<string, string | string[]>;
}

const none = () => ({});
const A: Record<string, ActionEntry> = {
	'/actions?/status': {
		rule: { incident: 'manage_action_items' },
		perIncident: true,
		form: (fx, i) => ({ id: fx.item[i]!.id, status: 'not-a-status' })
	},
	'/admin/audit?/verify': { rule: { global: 'admin_users' }, form: none },
	'/admin/channels?/create': { rule: { global: 'admin_channels' }, form: () => ({ kind: 'not-a-kind' }) },
	'/admin/channels/[id]?/save': { rule: { global: 'admin_channels' }, form: () => ({ kind: 'not-a-kind' }) },
	'/admin/channels/[id]?/test': { rule: { global: 'admin_channels' }, form: none },
	// A real failed delivery: the admin's probe queues it again (the receiver refuses it again).
	'/admin/channels/[id]?/retry': { rule: { global: 'admin_channels' }, form: (fx) => ({ delivery: fx.delivery }) },
	'/admin/channels/[id]?/delete': { rule: { global: 'admin_channels' }, form: none },
	'/admin/org?/save': { rule: { global: 'admin_services' }, form: () => ({ code: '' }) },
	'/admin/policy?/save': { rule: { global: 'admin_channels' }, form: () => ({ memberAckMinutes: 'not-a-number' }) },
	'/admin/policy?/reset': { rule: { global: 'admin_channels' }, form: none },
	'/admin/services?/save': { rule: { global: 'admin_services' }, form: () => ({ code: '' }) },
	'/admin/tokens?/create': { rule: { global: 'manage_api_tokens' }, form: () => ({ name: '' }) },
	'/admin/tokens?/revoke': { rule: { global: 'manage_api_tokens' }, form: () => ({ id: randomUUID() }) },
	'/admin/users?/create': { rule: { global: 'admin_users' }, form: () => ({ username: '' }) },
	'/admin/users/[id]?/default': { rule: { global: 'admin_users' }, form: () => ({ displayName: '' }) },
	'/board?/request': {
		rule: { incident: 'request_update' },
		perIncident: true,
		form: (_fx, i) => ({ incidentId: i, text: 'x'.repeat(5000) })
	},
	'/board/links?/create': { rule: SHARE_LINKS, form: () => ({ label: '', expiresInHours: 'never' }) },
	'/board/links?/revoke': { rule: SHARE_LINKS, form: () => ({ id: randomUUID() }) },
	'/inbox?/ack': { rule: { incident: 'ack_head_office_report' }, perIncident: true, form: (fx, i) => ({ id: fx.report[i]! }) },
	'/inbox?/request': {
		rule: { incident: 'request_update' },
		perIncident: true,
		form: (fx, i) => ({ id: fx.report[i]!, kind: 'not-a-kind' })
	},
	'/incidents/[id]?/accept': { rule: { incident: 'accept_proposal' }, perIncident: true, form: () => ({ version: '0' }) },
	'/incidents/[id]?/reject': { rule: { incident: 'accept_proposal' }, perIncident: true, form: () => ({ version: '0', reason: '' }) },
	'/incidents/[id]?/status': { rule: { incident: 'change_status' }, perIncident: true, form: () => ({ to: 'not-a-status' }) },
	'/incidents/[id]?/priority': { rule: { incident: 'change_priority' }, perIncident: true, form: () => ({ impact: 'not-an-impact' }) },
	'/incidents/[id]?/ack': { rule: { incident: 'acknowledge_page' }, perIncident: true, form: none },
	'/incidents/[id]?/page': { rule: { incident: 'assign_roles' }, perIncident: true, form: () => ({ userId: randomUUID() }) },
	'/incidents/[id]?/addMember': {
		rule: { incident: 'assign_roles' },
		perIncident: true,
		form: () => ({ userId: randomUUID(), role: 'not-a-role' })
	},
	'/incidents/[id]?/addTeam': {
		rule: { incident: 'assign_roles' },
		perIncident: true,
		form: () => ({ orgUnitId: randomUUID(), role: 'not-a-role' })
	},
	'/incidents/[id]?/handOver': { rule: { incident: 'assign_roles' }, perIncident: true, form: () => ({ userId: randomUUID() }) },
	'/incidents/[id]?/changeRole': {
		rule: { incident: 'assign_roles' },
		perIncident: true,
		form: () => ({ userId: randomUUID(), role: 'not-a-role' })
	},
	'/incidents/[id]?/edit': { rule: { incident: 'edit_incident' }, perIncident: true, form: () => ({ title: '' }) },
	'/incidents/[id]?/remove': { rule: { incident: 'assign_roles' }, perIncident: true, form: () => ({ userId: randomUUID() }) },
	'/incidents/[id]/escalation?/draft': {
		rule: { incident: 'write_status_update' },
		perIncident: true,
		form: () => ({ kind: 'status_update' })
	},
	'/incidents/[id]/escalation?/save': {
		rule: { incident: 'draft_report' },
		perIncident: true,
		form: (fx, i) => ({ id: fx.report[i]!, version: '0', kind: 'head_office_report' })
	},
	'/incidents/[id]/escalation?/submit': {
		rule: { incident: 'draft_report' },
		perIncident: true,
		form: (fx, i) => ({ id: fx.report[i]!, version: '0', kind: 'head_office_report' })
	},
	'/incidents/[id]/escalation?/return': {
		rule: { incident: 'approve_report' },
		perIncident: true,
		form: (fx, i) => ({ id: fx.report[i]!, comment: '' })
	},
	// The report is the incident manager's own draft: the four-eyes rule wants an override reason from them,
	// and refuses a reason from anyone else after the permission check (400), so a reason is always sent.
	'/incidents/[id]/escalation?/approve': {
		rule: { incident: 'approve_report' },
		perIncident: true,
		form: (fx, i) => ({ id: fx.report[i]!, overrideReason: 'access table' })
	},
	'/incidents/[id]/escalation?/ack': {
		rule: { incident: 'ack_head_office_report' },
		perIncident: true,
		form: (fx, i) => ({ id: fx.report[i]! })
	},
	'/incidents/[id]/escalation?/request': { rule: { incident: 'request_update' }, perIncident: true, form: () => ({ kind: 'not-a-kind' }) },
	'/incidents/[id]/playbooks?/load': {
		rule: { incident: 'load_playbook' },
		perIncident: true,
		form: () => ({ playbookId: 'no-such-playbook' })
	},
	'/incidents/[id]/playbooks?/tick': {
		rule: { incident: 'tick_checklist' },
		perIncident: true,
		form: () => ({ playbookId: 'no-such-playbook', stepId: 'x' })
	},
	'/incidents/[id]/playbooks?/skip': {
		rule: { incident: 'tick_checklist' },
		perIncident: true,
		form: () => ({ playbookId: 'no-such-playbook', stepId: 'x' })
	},
	'/incidents/[id]/playbooks?/drill': { rule: { global: 'declare' }, form: () => ({ playbookId: PLAYBOOK }) },
	'/incidents/[id]/playbooks?/actionItem': {
		rule: { incident: 'manage_action_items' },
		perIncident: true,
		form: () => ({ deviationId: randomUUID() })
	},
	'/incidents/[id]/review?/refresh': { rule: { incident: 'write_review' }, perIncident: true, form: none },
	'/incidents/[id]/review?/submit': { rule: { incident: 'write_review' }, perIncident: true, form: none },
	'/incidents/[id]/review?/return': { rule: { incident: 'publish_review' }, perIncident: true, form: none },
	'/incidents/[id]/review?/publish': { rule: { incident: 'publish_review' }, perIncident: true, form: none },
	'/incidents/[id]/review?/revise': { rule: { incident: 'write_review' }, perIncident: true, form: none },
	'/incidents/[id]/review?/close': { rule: { incident: 'change_status' }, perIncident: true, form: () => ({ version: '0' }) },
	'/incidents/[id]/review?/waive': { rule: { incident: 'waive_review' }, perIncident: true, form: () => ({ reason: '' }) },
	'/incidents/[id]/review?/addItem': { rule: { incident: 'manage_action_items' }, perIncident: true, form: () => ({ title: '' }) },
	'/incidents/[id]/review?/updateItem': {
		rule: { incident: 'manage_action_items' },
		perIncident: true,
		form: (fx, i) => ({ id: fx.item[i]!.id, status: 'not-a-status', version: fx.item[i]!.version })
	},
	'/incidents/new?/default': { rule: { global: 'propose' }, form: () => ({ mode: 'propose', title: '' }) },
	// Anyone may try to sign in: a wrong password is the action's answer (401 invalid_credentials), not a refusal.
	'/login?/default': {
		rule: { public: true },
		outcome: (r) => (r.status === 401 && r.data?.code === 'invalid_credentials' ? 'allowed' : outcomeOf(r, false)),
		form: () => ({ username: `nobody-${randomUUID().slice(0, 8)}`, password: 'wrong' })
	},
	// Anyone may sign out (without a session it is a no-op): the answer is the login page, marked loggedOut.
	'/logout?/default': {
		rule: { public: true },
		throwaway: true,
		outcome: (r) => ((r.location ?? '').startsWith('/login?loggedOut') ? 'allowed' : outcomeOf(r, false)),
		form: none
	},
	'/notifications?/read': { rule: { signedIn: true }, form: () => ({ id: randomUUID() }) },
	'/notifications?/readAll': { rule: { signedIn: true }, form: none },
	'/playbooks?/import': { rule: { global: 'admin_playbooks' }, form: () => ({ source: '' }) },
	'/playbooks/[id]/drill?/default': { rule: { global: 'declare' }, form: none },
	'/prefs?/lang': { rule: { public: true }, form: () => ({ lang: 'not-a-locale' }) },
	'/prefs?/theme': { rule: { public: true }, form: () => ({ theme: 'not-a-theme' }) },
	'/reports?/generate': { rule: REPORTS_GENERATE, form: () => ({ period: 'not-a-period' }) },
	// An invalid score: refused after the link is found, so the real link stays unanswered.
	'/survey/[token]?/default': { rule: { public: true }, form: () => ({ score: '99' }) }
};
/** Probes that are not form actions: the JSON API's writes. */
const API_WRITES: Record<string, ActionEntry> = {
	'POST /api/v1/incidents (declare)': { rule: { global: 'declare' }, form: () => ({}) },
	'POST /api/v1/incidents/[id]/status': { rule: { incident: 'change_status' }, perIncident: true, form: () => ({}) }
};

function fillRoute(route: string, fx: Fixture, incident: string, action?: string): string {
	return route
		.replace(
			'[id]',
			route.startsWith('/admin/users')
				? fx.scratchUser
				: route.startsWith('/playbooks')
					? PLAYBOOK
					: route.startsWith('/admin/channels')
						? action === 'delete'
							? fx.channelToDelete
							: fx.channel
						: incident
		)
		.replace('[token]', fx.surveyToken);
}

/**
 * A real survey link. Links are made by the review job (every 5 minutes) for resolved incidents, and
 * only their hash is stored, so the test makes one the way the job does: with the server stopped, the
 * survey service on its database, for an incident it declares and resolves on a service whose owner
 * team has people (the demo's data warehouse, owned by the East database team).
 */
async function makeSurveyToken(server: ProdServer): Promise<string> {
	await server.stop();
	const handle = await openDatabase({ dataDir: server.dataDir });
	try {
		const ctx = { db: handle.db, dbKind: handle.kind, config: loadConfig({}), events: new EventBus(), now: () => new Date() };
		const manager = actorFromUser((await findByUsername(handle.db, 'manager'))!);
		const declared = await declareIncident(ctx, manager, {
			title: 'Access table survey',
			impact: 'moderate',
			urgency: 'medium',
			services: ['DATA-WAREHOUSE']
		});
		if (!declared.ok) throw new Error(`survey incident: ${declared.error.message}`);
		const incidentId = declared.value.incident.id;
		const resolved = await changeStatus(ctx, manager, { incidentId, to: 'resolved' });
		if (!resolved.ok) throw new Error(`resolve: ${resolved.error.message}`);
		const links = await sendSurveys(ctx, { incidentId });
		const token = links[0]?.link.split('/survey/')[1];
		if (!token) throw new Error(`no survey link was made: ${JSON.stringify(links)}`);
		return token;
	} finally {
		await handle.close();
	}
}

// ---------------------------------------------------------------------------------------------

let s: ProdServer;
let http: Http;
let hook: HttpSink;
const actors: ActorKind[] = [];
let fx: Fixture;
let cells = 0;
const mismatches: string[] = [];
const serverErrors: string[] = [];

async function freshSession(a: ActorKind): Promise<string> {
	const r = await postLogin(s, { username: a.username, password: a.username.startsWith('t-') ? PASSWORD : undefined });
	if (!r.token) throw new Error(`login ${a.username}: ${r.body.slice(0, 200)}`);
	return `warroom_session=${r.token}`;
}

function check(label: string, want: Outcome, r: Answer, page: boolean, outcome = (x: Answer) => outcomeOf(x, page)): void {
	cells++;
	const got = outcome(r);
	if (got === 'server error') serverErrors.push(`${label}: ${r.status} ${r.body.slice(0, 200)}`);
	if (got !== want) {
		const detail = (r.data?.message as string | undefined) ?? r.location ?? r.body.replace(/\s+/g, ' ').slice(0, 100);
		mismatches.push(`${label}: expected ${want}, got ${got} (${r.status} ${detail})`);
	}
}

async function must(what: string, r: Promise<Answer>): Promise<Answer> {
	const a = await r;
	if (a.status >= 400) throw new Error(`${what}: ${a.status} ${a.body.slice(0, 300)}`);
	return a;
}

beforeAll(async () => {
	s = await startProdServer();
	const surveyToken = await makeSurveyToken(s);
	s = await startProdServer({ dataDir: s.dataDir });
	http = new Http(s.origin);
	const admin = await loginCookie(s, 'admin');
	const manager = await loginCookie(s, 'manager');
	const tag = randomUUID().slice(0, 8);
	// The full titles: a search page echoes its query (the bare marker) back into the search box.
	const marker = { open: `Access table OPEN-${tag}`, restricted: `Access table RESTRICTED-${tag}` };
	const declare = async (title: string, restricted: boolean) => {
		const r = await must(
			'declare',
			http.action('/incidents/new', manager, {
				mode: 'declare',
				title,
				description: `${title} description`,
				impact: 'extensive',
				urgency: 'high',
				...(restricted ? { restricted: 'on' } : {})
			})
		);
		return /\/incidents\/([\w-]+)/.exec(r.location ?? '')![1]!;
	};
	const open = await declare(marker.open, false);
	const restricted = await declare(marker.restricted, true);

	// New users for the membership kinds the demo does not have.
	const created: [string, GlobalRole, IncidentRole | null, ActorKind['state']][] = [
		['t-member', 'responder', 'responder', 'active'],
		['t-scribe', 'responder', 'scribe', 'active'],
		['t-observer', 'responder', 'observer', 'active'],
		['t-exec-member', 'viewer', 'observer', 'active'],
		['t-disabled', 'responder', 'responder', 'disabled'],
		['t-scratch', 'responder', null, 'active']
	];
	for (const [username, globalRole] of created)
		await must(
			`create ${username}`,
			http.action('/admin/users?/create', admin, { username, displayName: username, password: PASSWORD, globalRole })
		);
	const users = findAll<{ id: string; username: string }>(
		await http.data('/admin/users', admin),
		(o) => typeof o.username === 'string' && typeof o.id === 'string'
	);
	const idOf = (u: string) => users.find((x) => x.username === u)!.id;
	for (const [username, , role] of created)
		if (role)
			for (const incidentId of [open, restricted])
				await must(`add ${username}`, http.action(`/incidents/${incidentId}?/addMember`, manager, { userId: idOf(username), role }));

	const demo: [string, string, GlobalRole, IncidentRole | null][] = [
		['admin (non-member)', 'admin', 'admin', null],
		['manager, incident manager', 'manager', 'manager', 'incident_manager'],
		['manager (non-member)', 'manager2', 'manager', null],
		['responder (non-member)', 'responder2', 'responder', null],
		['viewer/exec (non-member)', 'exec', 'viewer', null]
	];
	for (const [key, username, globalRole, role] of demo)
		actors.push({
			key,
			username,
			globalRole,
			role,
			state: 'active',
			cookie: username === 'admin' ? admin : username === 'manager' ? manager : await loginCookie(s, username),
			id: idOf(username)
		});
	for (const [username, globalRole, role, state] of created) {
		if (username === 't-scratch') continue;
		const r = await postLogin(s, { username, password: PASSWORD });
		if (!r.token) throw new Error(`login ${username}: ${r.body.slice(0, 200)}`);
		const key = state === 'disabled' ? 'disabled (was a responder member)' : `${globalRole} as ${role}`;
		actors.push({ key, username, globalRole, role, state, cookie: `warroom_session=${r.token}`, id: idOf(username) });
	}
	actors.push({ key: 'anonymous', username: '', globalRole: 'responder', role: null, state: 'anonymous', cookie: '', id: '' });
	// Disable after login: the old session must stop working.
	await must('disable', http.action(`/admin/users/${idOf('t-disabled')}`, admin, { displayName: 't-disabled', disabled: 'on' }));

	// Objects some actions act on: a draft report and an action item in each incident.
	const report: Record<string, string> = {};
	const item: Record<string, { id: string; version: string }> = {};
	for (const incidentId of [open, restricted]) {
		await must(
			'draft',
			http.action(`/incidents/${incidentId}/escalation?/draft`, manager, { kind: 'head_office_report', reportKind: 'initial' })
		);
		const comms = findAll<{ id: string; kind: string }>(
			await http.data(`/incidents/${incidentId}/escalation`, manager),
			(o) => o.kind === 'head_office_report' && typeof o.id === 'string' && 'state' in o
		);
		report[incidentId] = comms[0]!.id;
		await must(
			'item',
			http.action(`/incidents/${incidentId}/review?/addItem`, manager, { title: `item ${incidentId}`, type: 'corrective' })
		);
	}
	const items = findAll<{ id: string; version: number; incidentId?: string; incident?: { id: string } }>(
		await http.data('/actions?scope=all', admin),
		(o) => typeof o.id === 'string' && typeof o.version === 'number' && typeof o.title === 'string'
	);
	for (const incidentId of [open, restricted]) {
		const it = items.find((x) => JSON.stringify(x).includes(incidentId));
		if (!it) throw new Error(`no action item found for ${incidentId} in ${JSON.stringify(items).slice(0, 500)}`);
		item[incidentId] = { id: it.id, version: String(it.version) };
	}
	const period = '2026-10';
	await http.action('/reports?/generate', admin, { period });
	const link = await must('share', http.action('/board/links?/create', admin, { label: 'table', expiresInHours: '1' }));
	const shareToken = /\/board\/share\/([^"\s]+)/.exec(JSON.stringify(link.data))![1]!;
	const revoked = await must('share 2', http.action('/board/links?/create', admin, { label: 'revoked', expiresInHours: '1' }));
	const revokedToken = /\/board\/share\/([^"\s]+)/.exec(JSON.stringify(revoked.data))![1]!;
	const links = findAll<{ id: string; label: string }>(
		await http.data('/board/links', admin),
		(o) => o.label === 'revoked' && typeof o.id === 'string'
	);
	await must('revoke', http.action('/board/links?/revoke', admin, { id: links[0]!.id }));

	// Real notification channels (disabled: only "Send test" posts), to a local receiver that refuses,
	// so the test message fails and leaves a failed delivery to retry.
	hook = await startHttpSink();
	hook.respond(() => ({ status: 500, body: 'refused by the access table' }));
	const newChannel = async (name: string) => {
		const r = await must(
			`channel ${name}`,
			http.action('/admin/channels?/create', admin, {
				name,
				kind: 'webhook',
				locale: 'en',
				url: `${hook.base}/hook`,
				secret: 'access-table-secret-0123456789',
				events: 'incident.declared'
			})
		);
		const id = /\/admin\/channels\/([\w-]+)/.exec(r.location ?? '')?.[1];
		if (!id) throw new Error(`channel ${name}: no id in ${r.status} ${r.location} ${r.body.slice(0, 200)}`);
		return id;
	};
	const channel = await newChannel('access table');
	const channelToDelete = await newChannel('access table (to delete)');
	await must('send test', http.action(`/admin/channels/${channel}?/test`, admin, {}));
	const failed = findAll<{ id: string; status: string }>(
		await http.data(`/admin/channels/${channel}`, admin),
		(o) => o.status === 'failed' && typeof o.id === 'string' && 'attempts' in o
	);
	if (!failed[0]) throw new Error('the test message to the refusing receiver left no failed delivery');
	// Control: the survey link is real and open (an unknown one shows the "invalid" state, also a 200).
	const survey = await http.data(`/survey/${surveyToken}`, '');
	if (survey.state !== 'open') throw new Error(`the survey link is not open: ${JSON.stringify(survey).slice(0, 200)}`);
	fx = {
		open,
		restricted,
		report,
		item,
		scratchUser: idOf('t-scratch'),
		period,
		shareToken,
		revokedToken,
		marker,
		channel,
		delivery: failed[0].id,
		channelToDelete,
		surveyToken
	};
}, 240_000);

afterAll(async () => {
	await hook?.close();
	figures.add(`${cells} role×operation cells, ${mismatches.length} mismatches, ${serverErrors.length} server errors`);
	figures.print();
	await s?.stop();
});

describe('role × operation over every path of the production build', () => {
	it('has a table entry for every route and every form action in src/routes', () => {
		const routes = readableRoutes().map((r) => r.route);
		const missingPages = routes.filter((r) => !(r in PAGES));
		const stalePages = Object.keys(PAGES).filter((r) => !routes.includes(r));
		const actions = formActionsInSource().map((a) => `${a.route}?/${a.action}`);
		const missingActions = actions.filter((a) => !(a in A));
		const staleActions = Object.keys(A).filter((a) => !actions.includes(a));
		expect({ missingPages, stalePages, missingActions, staleActions }).toEqual({
			missingPages: [],
			stalePages: [],
			missingActions: [],
			staleActions: []
		});
		figures.add(`${routes.length} routes, ${actions.length} form actions discovered`);
	});

	it('GET of every page and endpoint answers as the rule says', async () => {
		const [before, e0, m0] = [cells, serverErrors.length, mismatches.length];
		for (const [route, entry] of Object.entries(PAGES))
			for (const p of entry.paths(fx))
				for (const a of actors) {
					const want = expected(entry.rule, a, p.incident ? { restricted: p.incident === 'restricted' } : undefined);
					const r = p.stream ? await http.peek(p.path, a.cookie, 300) : await http.get(p.path, a.cookie);
					check(`GET ${p.path.replace(fx.open, '{open}').replace(fx.restricted, '{restricted}')} [${route}] as ${a.key}`, want, r, true);
				}
		figures.add(`${cells - before} page cells`);
		expect({ serverErrors: serverErrors.slice(e0), mismatches: mismatches.slice(m0) }).toEqual({ serverErrors: [], mismatches: [] });
	});

	it('every form action and API write answers as the rule says', async () => {
		const [before, e0, m0] = [cells, serverErrors.length, mismatches.length];
		const run = async (label: string, entry: ActionEntry, send: (cookie: string, incident: string) => Promise<Answer>) => {
			const incidents = entry.perIncident ? [fx.open, fx.restricted] : [fx.open];
			for (const incident of incidents)
				for (const a of actors) {
					const want = expected(entry.rule, a, { restricted: incident === fx.restricted });
					const cookie = entry.throwaway && a.state === 'active' ? await freshSession(a) : a.cookie;
					const tagged = entry.perIncident ? `${label} on ${incident === fx.restricted ? 'restricted' : 'open'}` : label;
					check(`${tagged} as ${a.key}`, want, await send(cookie, incident), false, entry.outcome);
				}
		};
		for (const [key, entry] of Object.entries(A)) {
			const [route, action] = key.split('?/') as [string, string];
			await run(`POST ${key}`, entry, (cookie, incident) =>
				http.action(
					`${fillRoute(route, fx, incident, action)}${action === 'default' ? '' : `?/${action}`}`,
					cookie,
					entry.form(fx, incident)
				)
			);
		}
		await run('POST /api/v1/incidents', API_WRITES['POST /api/v1/incidents (declare)']!, (cookie) =>
			http.api('POST', '/api/v1/incidents', cookie, { declare: true })
		);
		await run('POST /api/v1/incidents/{id}/status', API_WRITES['POST /api/v1/incidents/[id]/status']!, (cookie, incident) =>
			http.api('POST', `/api/v1/incidents/${incident}/status`, cookie, { status: 'not-a-status' })
		);
		// Controls: the probes reached real objects. The admin's delete removed the second channel, the
		// admin's "Send test" reached the receiver, and no probe answered the survey.
		const adminCookie = actors.find((a) => a.username === 'admin')!.cookie;
		expect((await http.get(`/admin/channels/${fx.channelToDelete}`, adminCookie)).status).toBe(404);
		expect((await http.get(`/admin/channels/${fx.channel}`, adminCookie)).status).toBe(200);
		expect(hook.requests.length).toBeGreaterThanOrEqual(2);
		expect((await http.data(`/survey/${fx.surveyToken}`, '')).state).toBe('open');
		figures.add(
			`${cells - before} action cells (real channel, failed delivery and survey link: ${hook.requests.length} test posts received)`
		);
		expect({ serverErrors: serverErrors.slice(e0), mismatches: mismatches.slice(m0) }).toEqual({ serverErrors: [], mismatches: [] });
	});
});

// ---------------------------------------------------------------------------------------------
// Content: search, lists, exports, notifications, the board and share links never show a
// restricted incident to someone who may not view it (and do show it to those who may).
// ---------------------------------------------------------------------------------------------

describe('restricted content over search, lists, notifications, the board and share links', () => {
	const mayView = (a: ActorKind, restricted: boolean) => expected({ incident: 'view_incident' }, a, { restricted }) === 'allowed';
	let contentChecks = 0;
	const leaks: string[] = [];
	const shows = (label: string, want: boolean, body: string, marker: string) => {
		contentChecks++;
		const got = body.includes(marker);
		if (got !== want) leaks.push(`${label}: ${want ? 'missing' : 'LEAKED'} ${marker}`);
	};

	it('search and filters list the restricted incident only to those who may view it', async () => {
		const [e0, m0] = [serverErrors.length, mismatches.length];
		for (const a of actors) {
			const searches = [
				`/incidents?status=all&q=${encodeURIComponent(fx.marker.restricted.split(' ').pop()!)}`,
				`/incidents?status=all&restricted=1`,
				`/incidents?status=open&q=Access+table`,
				`/incidents?status=all&q=${fx.restricted}`,
				`/api/v1/incidents?q=${encodeURIComponent(fx.marker.restricted.split(' ').pop()!)}`,
				`/api/v1/incidents?limit=500`
			];
			for (const p of searches) {
				const r = await http.get(p, a.cookie);
				check(`search ${p} as ${a.key}`, expected({ signedIn: true }, a), r, true);
				if (a.state !== 'active') continue;
				// The id search may or may not match by id; it must never match what one may not see.
				if (p.includes(`q=${fx.restricted}`)) {
					if (!mayView(a, true)) shows(`${p} as ${a.key}`, false, r.body, fx.marker.restricted);
				} else shows(`${p} as ${a.key}`, mayView(a, true), r.body, fx.marker.restricted);
				if (!p.includes('restricted'))
					shows(`${p} as ${a.key}`, p.includes('q=Access') || p.includes('limit') ? mayView(a, false) : false, r.body, fx.marker.open);
			}
		}
		figures.add(`search: ${contentChecks} visibility checks`);
		expect({ serverErrors: serverErrors.slice(e0), mismatches: mismatches.slice(m0), leaks }).toEqual({
			serverErrors: [],
			mismatches: [],
			leaks: []
		});
	});

	it('notifications (in-app list and stream), board, live events and exports of other things do not carry it', async () => {
		const l0 = leaks.length;
		const c0 = contentChecks;
		const active = actors.filter((a) => a.state === 'active');
		const manager = actors.find((a) => a.username === 'manager')!;
		// Listen first, then make things happen on both incidents: paging, a priority change, a status change.
		const streams = active.flatMap((a) => [
			{ a, kind: 'notifications stream', p: http.peek('/api/notifications/stream', a.cookie, 4000) },
			{ a, kind: 'board live events', p: http.peek('/api/events', a.cookie, 4000) }
		]);
		await new Promise((r) => setTimeout(r, 500));
		for (const incident of [fx.open, fx.restricted]) {
			await http.action(`/incidents/${incident}?/page`, manager.cookie, {});
			await http.action(`/incidents/${incident}?/status`, manager.cookie, { to: 'identified', reason: 'access table' });
			await http.action(`/incidents/${incident}/escalation?/draft`, manager.cookie, { kind: 'status_update' });
		}
		for (const st of streams) {
			const r = await st.p;
			expect(r.status, `${st.kind} as ${st.a.key}`).toBe(200);
			if (!mayView(st.a, true)) {
				shows(`${st.kind} as ${st.a.key}`, false, r.body, fx.marker.restricted);
				shows(`${st.kind} as ${st.a.key}`, false, r.body, fx.restricted);
			}
		}
		// Positive control: a paged member of the restricted incident hears about it on the stream.
		const member = streams.find((x) => x.a.username === 't-member' && x.kind === 'notifications stream')!;
		const memberBody = (await member.p).body;
		expect(memberBody.includes(fx.restricted) || memberBody.includes(fx.marker.restricted), 'a member is notified (control)').toBe(true);

		const pages = [
			'/',
			'/notifications',
			'/inbox',
			'/actions?scope=all',
			'/board',
			'/board/kiosk',
			`/reports/${fx.period}`,
			'/incidents/new',
			'/playbooks'
		];
		for (const a of active) {
			for (const p of pages) {
				const r = await http.get(p, a.cookie);
				if (r.status !== 200) continue; // a refused page shows nothing; the table above checks the status
				if (!mayView(a, true)) {
					shows(`GET ${p} as ${a.key}`, false, r.body, fx.marker.restricted);
					shows(`GET ${p} as ${a.key}`, false, r.body, fx.restricted);
				}
			}
			// The in-app list: members are paged, so it is there for them and never for others.
			const list = await http.data('/notifications', a.cookie);
			const text = JSON.stringify(list);
			if (a.role && a.role !== 'observer' && a.username !== 'manager') shows(`in-app notifications of ${a.key}`, true, text, fx.restricted);
			if (!mayView(a, true)) shows(`in-app notifications of ${a.key}`, false, text, fx.restricted);
			// The board lists the open incident to everyone, the restricted one to members and admins.
			const board = await http.get('/board', a.cookie);
			shows(`board of ${a.key}`, true, board.body, fx.marker.open);
			shows(`board of ${a.key}`, a.globalRole === 'admin' || a.role !== null, board.body, fx.marker.restricted);
		}
		figures.add(
			`notifications/board/lists: ${contentChecks - c0} visibility checks over ${streams.length} live streams and ${pages.length + 2} pages`
		);
		expect(leaks.slice(l0)).toEqual([]);
	});

	it('share links show the board without restricted incidents; revoked and expired links show nothing', async () => {
		const c0 = contentChecks;
		const l0 = leaks.length;
		for (const a of actors) {
			const r = await http.get(`/board/share/${fx.shareToken}`, a.cookie);
			expect(r.status, `valid link as ${a.key}`).toBe(200);
			shows(`share link as ${a.key}`, true, r.body, fx.marker.open);
			shows(`share link as ${a.key}`, false, r.body, fx.marker.restricted);
			shows(`share link as ${a.key}`, false, r.body, fx.restricted);
			const data = await http.get(`/board/share/${fx.shareToken}/__data.json`, a.cookie);
			shows(`share link data as ${a.key}`, false, data.body, fx.marker.restricted);
			for (const [name, token] of [
				['revoked', fx.revokedToken],
				['unknown', `${fx.shareToken.slice(0, -2)}xx`],
				['garbage', "'; DROP TABLE share_links;--"]
			] as const) {
				const bad = await http.get(`/board/share/${encodeURIComponent(token)}`, a.cookie);
				cells++;
				if (bad.status !== 404) mismatches.push(`${name} share link as ${a.key}: expected 404, got ${bad.status}`);
				shows(`${name} share link as ${a.key}`, false, bad.body, fx.marker.open);
			}
		}
		// Expiry: stop the server, move the link's expiry into the past in its database, start it again.
		const admin = actors.find((a) => a.username === 'admin')!;
		const link = await http.action('/board/links?/create', admin.cookie, { label: 'to-expire', expiresInHours: '1' });
		const expiring = /\/board\/share\/([^"\s]+)/.exec(JSON.stringify(link.data))![1]!;
		expect((await http.get(`/board/share/${expiring}`)).status).toBe(200);
		const dataDir = s.dataDir;
		await s.stop();
		const { PGlite } = await import('@electric-sql/pglite');
		const pg = new PGlite(path.join(dataDir, 'pglite'));
		const upd = await pg.query(`update share_links set expires_at = now() - interval '1 minute' where label = 'to-expire'`);
		await pg.close();
		expect(upd.affectedRows).toBe(1);
		s = await startProdServer({ dataDir });
		http = new Http(s.origin);
		const expired = await http.get(`/board/share/${expiring}`);
		cells++;
		if (expired.status !== 404) mismatches.push(`expired share link: expected 404, got ${expired.status}`);
		shows('expired share link', false, expired.body, fx.marker.open);
		// Control: the still-valid link works on the restarted server.
		expect((await http.get(`/board/share/${fx.shareToken}`)).status).toBe(200);
		figures.add(`share links: ${contentChecks - c0} checks (valid, revoked, unknown, garbage, expired)`);
		expect(leaks.slice(l0)).toEqual([]);
		expect(mismatches).toEqual([]);
	});
});
