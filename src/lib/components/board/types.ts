/**
 * The board as the browser receives it (dates arrive as Date through SvelteKit's serialiser). Kept as
 * a type alias of the service view so the screens and the service cannot drift apart.
 */
import type { BoardData, BoardIncident, HealthView, HistoryView } from '$lib/server/services/board.service';

export type { BoardData, BoardIncident, HealthView, HistoryView };

export function serviceName(locale: string, s: { nameZh: string; nameEn: string }): string {
	return locale === 'zh-CN' ? s.nameZh : s.nameEn;
}
