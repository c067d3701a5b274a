/**
 * The database as Kysely sees it: snake_case columns (mapped to camelCase at the repository
 * boundary). Migrations are frozen in time and typed `Kysely<any>`; this file describes the schema
 * as it stands after all of them.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface OrgUnitTable {
	id: string;
	parent_id: string | null;
	kind: 'head_office' | 'region' | 'team';
	code: string;
	name_zh: string;
	name_en: string;
	region: string | null;
	created_at: Generated<Timestamp>;
}

export interface UserTable {
	id: string;
	username: string;
	display_name: string;
	email: string | null;
	phone: string | null;
	locale: 'zh-CN' | 'en';
	time_zone: string;
	org_unit_id: string | null;
	global_role: 'admin' | 'manager' | 'responder' | 'viewer';
	disabled: Generated<boolean>;
	password_hash: string | null;
	password_changed_at: Timestamp | null;
	created_at: Generated<Timestamp>;
}

export interface SessionTable {
	id: string;
	secret_hash: Uint8Array;
	user_id: string;
	created_at: Timestamp;
	last_seen_at: Timestamp;
	ip: string | null;
	user_agent: string | null;
}

export interface ServiceTable {
	id: string;
	code: string;
	name_zh: string;
	name_en: string;
	owner_team_id: string | null;
	criticality: 'critical' | 'high' | 'medium' | 'low';
	regions: ColumnType<string[], string[], string[]>;
	created_at: Generated<Timestamp>;
}

export interface ApiTokenTable {
	id: string;
	name: string;
	secret_hash: Uint8Array;
	scopes: ColumnType<string[], string[], string[]>;
	/** The token acts as this user (permissions are the user's, narrowed by scopes). */
	user_id: string;
	created_by: string;
	created_at: Generated<Timestamp>;
	last_used_at: Timestamp | null;
	revoked_at: Timestamp | null;
}

export interface AuditEventTable {
	seq: Generated<string>;
	id: string;
	at: Timestamp;
	actor_id: string | null;
	action: string;
	subject_type: string;
	subject_id: string | null;
	before: Json | null;
	after: Json | null;
	prev_hash: string;
	hash: string;
}

export interface LoginAttemptTable {
	id: Generated<string>;
	/** 'user:<lowercased username>' or 'ip:<address>'. */
	key: string;
	at: Timestamp;
	success: boolean;
}

/** A timestamp column with a database default: optional on insert. */
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface NotificationTable {
	/** bigint; the SSE event id. Read it with String(). */
	seq: Generated<string>;
	id: string;
	user_id: string;
	event: string;
	incident_id: string | null;
	title_zh: string;
	title_en: string;
	body_zh: string;
	body_en: string;
	link: string | null;
	dedupe_key: string | null;
	read_at: Timestamp | null;
	created_at: DefaultedTimestamp;
}

export interface NotificationChannelTable {
	id: string;
	kind: 'webhook' | 'email' | 'wecom' | 'dingtalk' | 'feishu' | 'slack' | 'teams';
	name: string;
	/** Kind-specific settings with secrets; see notify/channels.ts. Never sent to the browser as is. */
	config: Json<Record<string, unknown>>;
	events: ColumnType<string[], string[], string[]>;
	locale: 'zh-CN' | 'en';
	enabled: boolean;
	created_by: string | null;
	created_at: DefaultedTimestamp;
	updated_at: DefaultedTimestamp;
}

export interface NotificationDeliveryTable {
	seq: Generated<string>;
	id: string;
	channel_id: string;
	event: string;
	incident_id: string | null;
	payload: Json<Record<string, unknown>>;
	dedupe_key: string;
	status: 'pending' | 'sent' | 'failed';
	attempts: Generated<number>;
	max_attempts: number;
	next_attempt_at: Timestamp;
	locked_until: Timestamp | null;
	last_attempt_at: Timestamp | null;
	last_status_code: number | null;
	last_response: string | null;
	last_error: string | null;
	sent_at: Timestamp | null;
	created_at: Timestamp;
}

export interface CollabUpdateTable {
	/** bigint, read as a string. */
	id: Generated<string>;
	doc: string;
	update: Uint8Array;
	node_id: string;
	created_at: DefaultedTimestamp;
}

export interface CollabSnapshotTable {
	doc: string;
	state: Uint8Array;
	/** bigint, read as a string: every log row of this doc with id <= upto_id is in `state`. */
	upto_id: ColumnType<string, string | number, string | number>;
	updated_at: DefaultedTimestamp;
}

export interface PlaybookTable {
	id: string;
	source: 'file' | 'import';
	source_path: string | null;
	current_version_id: string | null;
	category: string;
	restricted: boolean;
	title_zh: string;
	title_en: string;
	summary_zh: string;
	summary_en: string;
	services: ColumnType<string[], string[], string[]>;
	tags: ColumnType<string[], string[], string[]>;
	withdrawn_at: Timestamp | null;
	updated_at: DefaultedTimestamp;
}

export interface PlaybookVersionTable {
	id: string;
	playbook_id: string;
	seq: number;
	version: number;
	content_hash: string;
	source_text: string;
	/** The parsed `Playbook` (domain/playbook-schema.ts). */
	parsed: Json;
	source_path: string | null;
	imported_by: string | null;
	created_at: DefaultedTimestamp;
}

export interface IncidentPlaybookTable {
	id: string;
	/** No foreign key yet (see the playbooks migration). */
	incident_id: string;
	playbook_id: string;
	version_id: string;
	/** The parsed `Playbook` as loaded: the incident's own copy. */
	snapshot: Json;
	loaded_by: string | null;
	loaded_at: Timestamp;
}

export interface PlaybookDeviationTable {
	id: string;
	incident_id: string;
	playbook_id: string;
	step_id: string;
	kind: 'skipped' | 'late';
	reason: string;
	recorded_by: string | null;
	recorded_at: Timestamp;
}

export interface IncidentCounterTable {
	/** YYYYMMDD in the organisation's time zone. */
	day: string;
	seq: number;
}

export interface IncidentTable {
	id: string;
	/** INC-YYYYMMDD-NNNN, unique. */
	number: string;
	title: string;
	description: Generated<string>;
	impact: 'extensive' | 'significant' | 'moderate' | 'minor';
	urgency: 'critical' | 'high' | 'medium' | 'low';
	priority: 'P1' | 'P2' | 'P3' | 'P4' | 'P5';
	status: 'proposed' | 'rejected' | 'investigating' | 'identified' | 'mitigated' | 'resolved' | 'closed';
	source: 'monitoring' | 'phone' | 'web' | 'api';
	drill: Generated<boolean>;
	restricted: Generated<boolean>;
	detected_at: Timestamp;
	proposed_at: Timestamp | null;
	declared_at: Timestamp | null;
	first_acked_at: Timestamp | null;
	mitigated_at: Timestamp | null;
	resolved_at: Timestamp | null;
	closed_at: Timestamp | null;
	reopened_at: Timestamp | null;
	proposed_by: string | null;
	declared_by: string | null;
	rejected_reason: string | null;
	close_reason: string | null;
	review_waived: Generated<boolean>;
	dedupe_key: string | null;
	repeat_count: Generated<number>;
	last_repeated_at: Timestamp | null;
	created_at: Timestamp;
	updated_at: Timestamp;
	version: Generated<number>;
}

export interface IncidentServiceTable {
	incident_id: string;
	service_id: string;
}

export interface IncidentMemberTable {
	id: string;
	incident_id: string;
	user_id: string;
	role:
		| 'incident_manager'
		| 'deputy'
		| 'communications_lead'
		| 'scribe'
		| 'technical_lead'
		| 'vendor_liaison'
		| 'service_desk'
		| 'responder'
		| 'observer';
	added_by: string | null;
	added_at: Timestamp;
	paged_at: Timestamp | null;
	last_paged_at: Timestamp | null;
	page_count: Generated<number>;
	acked_at: Timestamp | null;
	removed_at: Timestamp | null;
	removed_by: string | null;
}

export interface CommunicationTable {
	id: string;
	incident_id: string;
	kind: 'head_office_report' | 'status_update';
	report_kind: 'initial' | 'progress' | 'final' | null;
	/** Progress update number; 0 otherwise. */
	sequence: Generated<number>;
	state: 'draft' | 'submitted' | 'returned' | 'approved' | 'sent';
	/** `CommunicationContent` (services/escalation.service.ts). */
	content: Json;
	drafted_by: string | null;
	submitted_by: string | null;
	submitted_at: Timestamp | null;
	approved_by: string | null;
	approved_at: Timestamp | null;
	override_reason: string | null;
	returned_by: string | null;
	returned_at: Timestamp | null;
	return_comment: string | null;
	content_hash: string | null;
	sent_at: Timestamp | null;
	version: Generated<number>;
	created_at: Timestamp;
	updated_at: Timestamp;
}

export interface CommunicationVersionTable {
	communication_id: string;
	version: number;
	content: Json;
	edited_by: string | null;
	edited_at: Timestamp;
}

export interface CommunicationEventTable {
	id: string;
	/** bigint, read as a string: insertion order. */
	seq: Generated<string>;
	communication_id: string;
	action: 'drafted' | 'edited' | 'submitted' | 'returned' | 'approved' | 'overridden' | 'sent';
	actor_id: string | null;
	comment: string | null;
	version: number;
	at: Timestamp;
}

export interface HeadOfficeAckTable {
	communication_id: string;
	user_id: string;
	acked_at: Timestamp;
}

export interface UpdateRequestTable {
	id: string;
	incident_id: string;
	communication_id: string | null;
	requested_by: string | null;
	kind: 'update' | 'question';
	text: string;
	requested_at: Timestamp;
	answered_at: Timestamp | null;
	answered_by_communication: string | null;
}

export interface EscalationPolicyTable {
	id: number;
	/** A partial `EscalationPolicy` over the defaults (domain/escalation-policy.ts). */
	rules: Json;
	updated_by: string | null;
	updated_at: Timestamp;
}

export interface JobLeaseTable {
	name: string;
	holder: string;
	slot: Timestamp;
	until: Timestamp;
}

export interface ReminderSentTable {
	key: string;
	incident_id: string;
	clock_kind: string;
	stage: 'warning' | 'breach';
	due_at: Timestamp;
	sent_at: Timestamp;
}

export interface ClockBreachTable {
	id: string;
	incident_id: string;
	clock_kind: string;
	subject_id: Generated<string>;
	due_at: Timestamp;
	breached_at: Timestamp;
	met_at: Timestamp | null;
}

export interface ShareLinkTable {
	/** The public half of the `id.secret` token. */
	id: string;
	secret_hash: Uint8Array;
	created_by: string | null;
	label: string;
	expires_at: Timestamp;
	revoked_at: Timestamp | null;
	created_at: DefaultedTimestamp;
}

export interface ReviewTable {
	id: string;
	incident_id: string;
	state: 'draft' | 'in_review' | 'published';
	/** The latest published version; 0 until the first sign-off. */
	version: Generated<number>;
	/** `ReviewFacts` (services/review.service.ts). */
	facts: Json;
	facts_generated_at: Timestamp;
	/** `ReviewContent` of the latest published version. */
	content: Json | null;
	content_hash: string | null;
	submitted_by: string | null;
	submitted_at: Timestamp | null;
	signed_off_by: string | null;
	signed_off_at: Timestamp | null;
	waiver_reason: string | null;
	waived_by: string | null;
	waived_at: Timestamp | null;
	row_version: Generated<number>;
	created_at: Timestamp;
	updated_at: Timestamp;
}

export interface ReviewVersionTable {
	review_id: string;
	version: number;
	content: Json;
	content_hash: string;
	published_by: string | null;
	published_at: Timestamp;
}

export interface ActionItemTable {
	id: string;
	incident_id: string;
	review_id: string | null;
	title: string;
	owner_id: string | null;
	/** YYYY-MM-DD in the organisation's time zone. */
	due_date: string | null;
	type: 'corrective' | 'preventive' | 'detective';
	link: string | null;
	status: 'open' | 'in_progress' | 'done' | 'cancelled';
	created_by: string | null;
	created_at: Timestamp;
	updated_at: Timestamp;
	closed_at: Timestamp | null;
	reminded_soon_for: string | null;
	reminded_overdue_for: string | null;
	version: Generated<number>;
}

export interface SurveyTable {
	id: string;
	incident_id: string;
	service_id: string;
	recipient_id: string;
	token_hash: string;
	created_at: Timestamp;
	expires_at: Timestamp;
	used_at: Timestamp | null;
	score: number | null;
	comment: string | null;
}

export interface MonthlyReportTable {
	id: string;
	/** YYYY-MM. */
	period: string;
	/** Null = the whole organisation. */
	org_unit_id: string | null;
	/** `MonthlyReportData` (services/report.service.ts). */
	data: Json;
	generated_at: Timestamp;
	generated_by: string | null;
}

export interface Database {
	org_units: OrgUnitTable;
	users: UserTable;
	sessions: SessionTable;
	services: ServiceTable;
	api_tokens: ApiTokenTable;
	audit_events: AuditEventTable;
	login_attempts: LoginAttemptTable;
	collab_updates: CollabUpdateTable;
	collab_snapshots: CollabSnapshotTable;
	notifications: NotificationTable;
	notification_channels: NotificationChannelTable;
	notification_deliveries: NotificationDeliveryTable;
	incident_counters: IncidentCounterTable;
	incidents: IncidentTable;
	incident_services: IncidentServiceTable;
	incident_members: IncidentMemberTable;
	playbooks: PlaybookTable;
	playbook_versions: PlaybookVersionTable;
	incident_playbooks: IncidentPlaybookTable;
	playbook_deviations: PlaybookDeviationTable;
	communications: CommunicationTable;
	communication_versions: CommunicationVersionTable;
	communication_events: CommunicationEventTable;
	head_office_acks: HeadOfficeAckTable;
	update_requests: UpdateRequestTable;
	escalation_policy: EscalationPolicyTable;
	job_leases: JobLeaseTable;
	reminders_sent: ReminderSentTable;
	clock_breaches: ClockBreachTable;
	share_links: ShareLinkTable;
	reviews: ReviewTable;
	review_versions: ReviewVersionTable;
	action_items: ActionItemTable;
	surveys: SurveyTable;
	monthly_reports: MonthlyReportTable;
}

export type OrgUnitRow = Selectable<OrgUnitTable>;
export type UserRow = Selectable<UserTable>;
export type NewUserRow = Insertable<UserTable>;
export type UserUpdate = Updateable<UserTable>;
export type SessionRow = Selectable<SessionTable>;
export type ServiceRow = Selectable<ServiceTable>;
export type ApiTokenRow = Selectable<ApiTokenTable>;
export type AuditEventRow = Selectable<AuditEventTable>;
export type NotificationRow = Selectable<NotificationTable>;
export type NotificationChannelRow = Selectable<NotificationChannelTable>;
export type NotificationDeliveryRow = Selectable<NotificationDeliveryTable>;
export type PlaybookRow = Selectable<PlaybookTable>;
export type PlaybookVersionRow = Selectable<PlaybookVersionTable>;
export type IncidentPlaybookRow = Selectable<IncidentPlaybookTable>;
export type PlaybookDeviationRow = Selectable<PlaybookDeviationTable>;
export type IncidentRow = Selectable<IncidentTable>;
export type NewIncidentRow = Insertable<IncidentTable>;
export type IncidentUpdate = Updateable<IncidentTable>;
export type IncidentMemberRow = Selectable<IncidentMemberTable>;
export type CommunicationRow = Selectable<CommunicationTable>;
export type CommunicationEventRow = Selectable<CommunicationEventTable>;
export type UpdateRequestRow = Selectable<UpdateRequestTable>;
export type ClockBreachRow = Selectable<ClockBreachTable>;
export type ShareLinkRow = Selectable<ShareLinkTable>;
export type ReviewRow = Selectable<ReviewTable>;
export type ActionItemRow = Selectable<ActionItemTable>;
export type SurveyRow = Selectable<SurveyTable>;
export type MonthlyReportRow = Selectable<MonthlyReportTable>;
