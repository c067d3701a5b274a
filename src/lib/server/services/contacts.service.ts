/**
 * The response group's contact list, printable and exportable: when the phone system, the mail
 * server or the directory is down, the war room still has everyone's number on paper or in a file.
 */
import type { Result } from '../../domain/result';
import { ok } from '../../domain/result';
import type { Actor, AppContext } from '../context';
import { getIncident } from './incident.service';
import { translate, type Locale } from '../../i18n/index';
import { csvCell } from '../../collab/incident-doc';

// One CSV-injection guard for every export (timeline, contact list, monthly report).
export { csvCell };

export async function contactListCsv(
	ctx: AppContext,
	actor: Actor,
	opts: { incidentId: string; locale: Locale }
): Promise<Result<{ csv: string; filename: string }>> {
	const r = await getIncident(ctx, actor, opts.incidentId);
	if (!r.ok) return r;
	const i = r.value;
	const t = (k: string) => translate(opts.locale, k);
	const header = [
		t('incident.group.person'),
		t('incident.group.role'),
		t('incident.group.phone'),
		t('incident.group.email'),
		t('incident.group.ack')
	];
	const rows = i.members.map((m) => [
		m.displayName,
		t(`incidentRole.${m.role}`),
		m.phone,
		m.email,
		m.ackedAt ? m.ackedAt.toISOString() : ''
	]);
	// BOM so spreadsheet programs open the Chinese names as UTF-8.
	const csv = '\uFEFF' + [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
	return ok({ csv, filename: `${i.number}-contacts.csv` });
}
