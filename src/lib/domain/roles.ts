/**
 * Global roles (per user) and incident roles (per person per incident). One list each, used by the
 * permission module, the playbooks (a step's owner role) and the UI.
 */
export const GLOBAL_ROLES = ['admin', 'manager', 'responder', 'viewer'] as const;
export type GlobalRole = (typeof GLOBAL_ROLES)[number];

export const INCIDENT_ROLES = [
	'incident_manager', // 事件经理 — exactly one at a time
	'deputy', // 副经理
	'communications_lead', // 沟通负责人
	'scribe', // 记录员
	'technical_lead', // 技术负责人 (2nd line)
	'vendor_liaison', // 厂商联络 (3rd line)
	'service_desk', // 服务台
	'responder', // 处置人员
	'observer' // 观察员 (read-only)
] as const;
export type IncidentRole = (typeof INCIDENT_ROLES)[number];

export function isGlobalRole(value: unknown): value is GlobalRole {
	return typeof value === 'string' && (GLOBAL_ROLES as readonly string[]).includes(value);
}

export function isIncidentRole(value: unknown): value is IncidentRole {
	return typeof value === 'string' && (INCIDENT_ROLES as readonly string[]).includes(value);
}
