import { getApp } from '$lib/server/app';
import { raise, requireActor } from '$lib/server/http';
import { listServices } from '$lib/server/services/catalogue.service';
import { listIncidents, type IncidentFilters } from '$lib/server/services/incident.service';
import type { PageServerLoad } from './$types';

const STATUS_FILTERS = [
	'open',
	'active',
	'proposed',
	'investigating',
	'identified',
	'mitigated',
	'resolved',
	'closed',
	'rejected'
] as const;

export const load: PageServerLoad = async (event) => {
	const actor = requireActor(event);
	const { ctx } = await getApp();
	const p = event.url.searchParams;
	const status = p.get('status') ?? 'open';
	const filters: IncidentFilters = {
		status:
			status === 'all'
				? undefined
				: (STATUS_FILTERS as readonly string[]).includes(status)
					? (status as IncidentFilters['status'])
					: 'open',
		priority: /^P[1-5]$/.test(p.get('priority') ?? '') ? (p.get('priority') as 'P1') : undefined,
		serviceId: p.get('service') || undefined,
		mine: p.get('mine') === '1' || undefined,
		drill: p.get('drill') === 'only' ? true : p.get('drill') === 'exclude' ? false : undefined,
		restricted: p.get('restricted') === '1' ? true : undefined,
		q: p.get('q')?.slice(0, 200) || undefined
	};
	const [list, services] = await Promise.all([listIncidents(ctx, actor, filters), listServices(ctx)]);
	if (!list.ok) raise(list.error);
	return {
		filters: {
			status,
			priority: p.get('priority') ?? '',
			service: p.get('service') ?? '',
			mine: p.get('mine') === '1',
			drill: p.get('drill') ?? '',
			restricted: p.get('restricted') === '1',
			q: p.get('q') ?? ''
		},
		statuses: ['open', 'active', ...STATUS_FILTERS.slice(2), 'all'],
		incidents: list.value.map((i) => ({
			id: i.id,
			number: i.number,
			title: i.title,
			priority: i.priority,
			status: i.status,
			drill: i.drill,
			restricted: i.restricted,
			detectedAt: i.detectedAt,
			declaredAt: i.declaredAt,
			services: i.services.map((s) => ({ code: s.code, nameZh: s.nameZh, nameEn: s.nameEn })),
			manager: i.incidentManager?.displayName ?? null,
			myRole: i.myRole
		})),
		services: services.map((s) => ({ id: s.id, code: s.code, nameZh: s.name_zh, nameEn: s.name_en })),
		canDeclare: actor.globalRole !== 'viewer'
	};
};
