/**
 * The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`. Hand-written as a
 * typed object (the types below cover the subset we use), with the enums taken from the domain
 * modules so the document cannot drift from what the handlers accept.
 */
import { INCIDENT_STATUSES } from '../../domain/incident-status';
import { OPERATIONS } from '../../domain/permissions';
import { IMPACTS, PRIORITIES, URGENCIES } from '../../domain/priority';
import { INCIDENT_ROLES } from '../../domain/roles';
import { VERSION } from '../app';
import {
	API_SCOPES,
	INCIDENT_SOURCES,
	LIST_MAX_LIMIT,
	TITLE_MAX_CHARS,
	DESCRIPTION_MAX_CHARS,
	REASON_MAX_CHARS,
	DEDUPE_KEY_MAX_CHARS,
	SERVICES_MAX
} from '../services/incident.service';
import { MAX_BODY_BYTES } from './respond';

export type Schema =
	| { $ref: string; description?: string }
	| {
			type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null' | ('string' | 'null' | 'object')[];
			description?: string;
			enum?: readonly (string | null)[];
			format?: string;
			items?: Schema;
			properties?: Record<string, Schema>;
			required?: readonly string[];
			additionalProperties?: boolean | Schema;
			maxLength?: number;
			minLength?: number;
			maxItems?: number;
			minimum?: number;
			maximum?: number;
			default?: unknown;
			examples?: unknown[];
			oneOf?: Schema[];
	  };

interface Parameter {
	name: string;
	in: 'query' | 'path' | 'header';
	required?: boolean;
	description?: string;
	schema: Schema;
}

interface MediaContent {
	'application/json': { schema: Schema; examples?: Record<string, { summary?: string; value: unknown }> };
}

interface ResponseObject {
	description: string;
	headers?: Record<string, { description: string; schema: Schema }>;
	content?: MediaContent;
}

interface Operation {
	operationId: string;
	summary: string;
	description?: string;
	tags?: string[];
	parameters?: Parameter[];
	requestBody?: { required: boolean; content: MediaContent };
	responses: Record<string, ResponseObject | { $ref: string }>;
	security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
	openapi: '3.1.0';
	info: { title: string; version: string; description: string };
	servers: { url: string }[];
	tags: { name: string; description: string }[];
	paths: Record<string, Partial<Record<'get' | 'post', Operation>>>;
	components: {
		schemas: Record<string, Schema>;
		responses: Record<string, ResponseObject>;
		securitySchemes: Record<
			string,
			{ type: 'http'; scheme: 'bearer'; description: string } | { type: 'apiKey'; in: 'cookie'; name: string; description: string }
		>;
	};
	security: Record<string, string[]>[];
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const err = (name: string) => ({ $ref: `#/components/responses/${name}` });
const dateTime: Schema = { type: 'string', format: 'date-time' };
const nullableDateTime: Schema = { type: ['string', 'null'], format: 'date-time' };
const person: Schema = {
	type: ['object', 'null'],
	properties: { userId: { type: 'string' }, displayName: { type: 'string' } },
	required: ['userId', 'displayName']
};
const idParam: Parameter = {
	name: 'id',
	in: 'path',
	required: true,
	description: 'The incident id, or its number (INC-YYYYMMDD-NNNN).',
	schema: { type: 'string' }
};

export const openApiDocument: OpenApiDocument = {
	openapi: '3.1.0',
	info: {
		title: 'Warroom API',
		version: VERSION,
		description:
			'Raise and follow major incidents from monitoring systems. Authenticate with `Authorization: Bearer <token>` ' +
			'(tokens are created by administrators and act as a chosen user, narrowed to their scopes) or with a signed-in ' +
			'session cookie; with a cookie, state-changing calls must send an `Origin` header equal to this site. Errors are ' +
			'`{ "error": { "code", "message", "fields": [{ "path", "code", "message" }] } }`. Restricted incidents are ' +
			`visible only to their members and administrators. Request bodies are JSON, at most ${MAX_BODY_BYTES} bytes.`
	},
	servers: [{ url: '/api/v1' }],
	tags: [{ name: 'incidents', description: 'Major incidents' }],
	security: [{ bearer: [] }, { session: [] }],
	paths: {
		'/incidents': {
			get: {
				operationId: 'listIncidents',
				summary: 'List incidents the caller can see, newest first',
				tags: ['incidents'],
				parameters: [
					{
						name: 'status',
						in: 'query',
						description: 'Comma-separated statuses; `active` = investigating, identified, mitigated; `open` = active + proposed.',
						schema: { type: 'string', examples: ['active', 'proposed,investigating'] }
					},
					{ name: 'priority', in: 'query', description: 'Comma-separated priorities, e.g. `P1,P2`.', schema: { type: 'string' } },
					{ name: 'service', in: 'query', description: 'A business service id or code.', schema: { type: 'string' } },
					{
						name: 'mine',
						in: 'query',
						description: 'Only incidents where the caller is in the response group.',
						schema: { type: 'boolean' }
					},
					{ name: 'drill', in: 'query', schema: { type: 'boolean' } },
					{ name: 'restricted', in: 'query', schema: { type: 'boolean' } },
					{ name: 'q', in: 'query', description: 'Search the number, title and description.', schema: { type: 'string', maxLength: 200 } },
					{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: LIST_MAX_LIMIT, default: 100 } }
				],
				responses: {
					'200': {
						description: 'The incidents',
						content: {
							'application/json': {
								schema: { type: 'object', properties: { data: { type: 'array', items: ref('IncidentSummary') } }, required: ['data'] }
							}
						}
					},
					'400': err('Invalid'),
					'401': err('Unauthenticated'),
					'403': err('Forbidden')
				},
				security: [{ bearer: ['incidents:read'] }, { session: [] }]
			},
			post: {
				operationId: 'createIncident',
				summary: 'Propose or declare a major incident (a repeating alert lands on its open incident)',
				description:
					'Proposes the incident (a manager accepts or rejects it), or declares it directly with `declare: true` ' +
					"(needs a manager's permissions). With a `dedupeKey` (or the `Idempotency-Key` header) a repeat of the same " +
					'alert while its incident is open returns that incident with 200 and `created: false`, and adds an ' +
					'observation to its timeline, instead of creating another one.',
				tags: ['incidents'],
				parameters: [
					{
						name: 'Idempotency-Key',
						in: 'header',
						description: 'Used as the dedupe key when the body has none.',
						schema: { type: 'string', maxLength: 200 }
					}
				],
				requestBody: {
					required: true,
					content: {
						'application/json': {
							schema: ref('NewIncident'),
							examples: {
								alert: {
									summary: 'A monitoring alert',
									value: {
										title: '核心银行系统响应缓慢',
										impact: 'extensive',
										urgency: 'high',
										services: ['CORE-BANKING'],
										source: 'monitoring',
										dedupeKey: 'zabbix:core-db:latency',
										detectedAt: '2026-11-22T08:30:00+08:00'
									}
								}
							}
						}
					}
				},
				responses: {
					'201': {
						description: 'Created',
						headers: { Location: { description: 'The new incident', schema: { type: 'string' } } },
						content: { 'application/json': { schema: ref('IncidentEnvelope') } }
					},
					'200': {
						description: 'The alert repeated: the open incident with the same dedupe key',
						content: { 'application/json': { schema: ref('IncidentEnvelope') } }
					},
					'400': err('Invalid'),
					'401': err('Unauthenticated'),
					'403': err('Forbidden'),
					'409': err('Conflict'),
					'413': err('TooLarge'),
					'415': err('UnsupportedMediaType')
				},
				security: [{ bearer: ['incidents:write'] }, { session: [] }]
			}
		},
		'/incidents/{id}': {
			get: {
				operationId: 'getIncident',
				summary: 'One incident with its response group and what the caller may do',
				tags: ['incidents'],
				parameters: [idParam],
				responses: {
					'200': {
						description: 'The incident',
						content: { 'application/json': { schema: { type: 'object', properties: { data: ref('Incident') }, required: ['data'] } } }
					},
					'401': err('Unauthenticated'),
					'403': err('Forbidden'),
					'404': err('NotFound')
				},
				security: [{ bearer: ['incidents:read'] }, { session: [] }]
			}
		},
		'/incidents/{id}/status': {
			post: {
				operationId: 'changeIncidentStatus',
				summary: 'Move the incident through its states',
				description:
					'Allowed moves: proposed → investigating (accept) | rejected (reason); investigating → identified | mitigated | resolved; ' +
					'identified → mitigated | resolved; mitigated → resolved; resolved → closed (waiverReason) | investigating (reopen, reason); ' +
					'closed → investigating (reopen, reason). Anything else is 409 `illegal_transition` with the allowed moves in the message.',
				tags: ['incidents'],
				parameters: [idParam],
				requestBody: { required: true, content: { 'application/json': { schema: ref('StatusChange') } } },
				responses: {
					'200': {
						description: 'The incident after the change',
						content: { 'application/json': { schema: { type: 'object', properties: { data: ref('Incident') }, required: ['data'] } } }
					},
					'400': err('Invalid'),
					'401': err('Unauthenticated'),
					'403': err('Forbidden'),
					'404': err('NotFound'),
					'409': err('Conflict'),
					'413': err('TooLarge'),
					'415': err('UnsupportedMediaType')
				},
				security: [{ bearer: ['incidents:write'] }, { session: [] }]
			}
		}
	},
	components: {
		securitySchemes: {
			bearer: { type: 'http', scheme: 'bearer', description: `An API token (\`id.secret\`) with scopes ${API_SCOPES.join(', ')}.` },
			session: {
				type: 'apiKey',
				in: 'cookie',
				name: 'warroom_session',
				description: 'A signed-in user; state-changing calls need a same-origin Origin header.'
			}
		},
		responses: {
			Invalid: {
				description: 'Bad JSON or invalid fields (each with its path, e.g. `services[1]`)',
				content: { 'application/json': { schema: ref('Error') } }
			},
			Unauthenticated: {
				description: 'No, malformed, unknown or revoked token, and no session',
				content: { 'application/json': { schema: ref('Error') } }
			},
			Forbidden: {
				description: 'Not allowed (role, scope, or a cookie call from another origin)',
				content: { 'application/json': { schema: ref('Error') } }
			},
			NotFound: {
				description: 'No such incident, or not visible to the caller',
				content: { 'application/json': { schema: ref('Error') } }
			},
			Conflict: {
				description: 'Illegal transition, stale version, or a dedupe key held by an incident the caller cannot see',
				content: { 'application/json': { schema: ref('Error') } }
			},
			TooLarge: { description: `Body larger than ${MAX_BODY_BYTES} bytes`, content: { 'application/json': { schema: ref('Error') } } },
			UnsupportedMediaType: { description: 'Body not sent as application/json', content: { 'application/json': { schema: ref('Error') } } }
		},
		schemas: {
			Error: {
				type: 'object',
				required: ['error'],
				properties: {
					error: {
						type: 'object',
						required: ['code', 'message', 'fields'],
						properties: {
							code: {
								type: 'string',
								examples: [
									'invalid',
									'bad_json',
									'unauthenticated',
									'forbidden',
									'cross_origin',
									'not_found',
									'illegal_transition',
									'conflict',
									'payload_too_large',
									'unsupported_media_type',
									'reason_required',
									'review_required'
								]
							},
							message: { type: 'string' },
							fields: {
								type: 'array',
								items: {
									type: 'object',
									required: ['path', 'code', 'message'],
									properties: { path: { type: 'string', examples: ['services[1]'] }, code: { type: 'string' }, message: { type: 'string' } }
								}
							},
							errorId: { type: 'string', description: 'Only on 500: quote it to the administrator.' }
						}
					}
				}
			},
			NewIncident: {
				type: 'object',
				additionalProperties: false,
				required: ['title', 'impact', 'urgency'],
				properties: {
					title: { type: 'string', maxLength: TITLE_MAX_CHARS },
					description: { type: 'string', maxLength: DESCRIPTION_MAX_CHARS },
					impact: { type: 'string', enum: IMPACTS },
					urgency: { type: 'string', enum: URGENCIES },
					priority: { type: 'string', enum: PRIORITIES, description: 'Optional check: must equal impact × urgency by the ITIL matrix.' },
					services: { type: 'array', maxItems: SERVICES_MAX, items: { type: 'string' }, description: 'Business service ids or codes.' },
					detectedAt: { type: 'string', format: 'date-time', description: 'With a time zone; defaults to now.' },
					source: { type: 'string', enum: INCIDENT_SOURCES, default: 'api' },
					drill: { type: 'boolean', default: false },
					restricted: { type: 'boolean', default: false },
					dedupeKey: { type: 'string', maxLength: DEDUPE_KEY_MAX_CHARS },
					declare: { type: 'boolean', default: false, description: 'Declare directly instead of proposing (manager permissions).' }
				}
			},
			StatusChange: {
				type: 'object',
				additionalProperties: false,
				required: ['status'],
				properties: {
					status: { type: 'string', enum: INCIDENT_STATUSES },
					reason: { type: 'string', maxLength: REASON_MAX_CHARS, description: 'Required to reject and to reopen.' },
					waiverReason: {
						type: 'string',
						maxLength: REASON_MAX_CHARS,
						description: 'Required to close (until post-incident reviews exist).'
					},
					version: { type: 'integer', minimum: 1, description: 'The version you saw; a different current version is 409.' }
				}
			},
			Service: {
				type: 'object',
				properties: {
					id: { type: 'string' },
					code: { type: 'string' },
					nameZh: { type: 'string' },
					nameEn: { type: 'string' },
					criticality: { type: 'string', enum: ['critical', 'high', 'medium', 'low'] }
				}
			},
			IncidentSummary: {
				type: 'object',
				properties: {
					id: { type: 'string' },
					number: { type: 'string', examples: ['INC-20261122-0007'] },
					title: { type: 'string' },
					impact: { type: 'string', enum: IMPACTS },
					urgency: { type: 'string', enum: URGENCIES },
					priority: { type: 'string', enum: PRIORITIES },
					status: { type: 'string', enum: INCIDENT_STATUSES },
					source: { type: 'string', enum: INCIDENT_SOURCES },
					drill: { type: 'boolean' },
					restricted: { type: 'boolean' },
					detectedAt: dateTime,
					declaredAt: nullableDateTime,
					resolvedAt: nullableDateTime,
					createdAt: dateTime,
					updatedAt: dateTime,
					services: { type: 'array', items: ref('Service') },
					incidentManager: person,
					myRole: { type: ['string', 'null'], enum: [...INCIDENT_ROLES, null] }
				}
			},
			Member: {
				type: 'object',
				properties: {
					id: { type: 'string' },
					userId: { type: 'string' },
					username: { type: 'string' },
					displayName: { type: 'string' },
					email: { type: ['string', 'null'] },
					phone: { type: ['string', 'null'] },
					role: { type: 'string', enum: INCIDENT_ROLES },
					addedAt: dateTime,
					pagedAt: nullableDateTime,
					lastPagedAt: nullableDateTime,
					pageCount: { type: 'integer' },
					ackedAt: nullableDateTime,
					awaitingAck: { type: 'boolean' }
				}
			},
			Incident: {
				type: 'object',
				description: 'IncidentSummary plus the details below.',
				properties: {
					id: { type: 'string' },
					number: { type: 'string' },
					title: { type: 'string' },
					description: { type: 'string' },
					impact: { type: 'string', enum: IMPACTS },
					urgency: { type: 'string', enum: URGENCIES },
					priority: { type: 'string', enum: PRIORITIES },
					status: { type: 'string', enum: INCIDENT_STATUSES },
					source: { type: 'string', enum: INCIDENT_SOURCES },
					drill: { type: 'boolean' },
					restricted: { type: 'boolean' },
					services: { type: 'array', items: ref('Service') },
					dedupeKey: { type: ['string', 'null'] },
					repeatCount: { type: 'integer' },
					version: { type: 'integer' },
					times: {
						type: 'object',
						properties: {
							detectedAt: dateTime,
							proposedAt: nullableDateTime,
							declaredAt: nullableDateTime,
							firstAckedAt: nullableDateTime,
							mitigatedAt: nullableDateTime,
							resolvedAt: nullableDateTime,
							closedAt: nullableDateTime,
							reopenedAt: nullableDateTime
						}
					},
					proposedBy: person,
					declaredBy: person,
					rejectedReason: { type: ['string', 'null'] },
					closeReason: { type: ['string', 'null'] },
					reviewWaived: { type: 'boolean' },
					members: { type: 'array', items: ref('Member') },
					incidentManager: { oneOf: [ref('Member'), { type: 'null' }] },
					unacknowledged: { type: 'array', items: ref('Member') },
					allowed: {
						type: 'object',
						description: `What the caller may do: ${OPERATIONS.join(', ')}.`,
						additionalProperties: { type: 'boolean' }
					},
					nextStatuses: { type: 'array', items: { type: 'string', enum: INCIDENT_STATUSES } }
				}
			},
			IncidentEnvelope: {
				type: 'object',
				required: ['data', 'created'],
				properties: {
					data: ref('Incident'),
					created: { type: 'boolean', description: 'False when a repeated alert landed on an open incident.' }
				}
			}
		}
	}
};
