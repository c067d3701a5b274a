/**
 * Batched lookups: questions asked together (a reconnect storm after a restart or a network blip, a
 * page's parallel requests, the periodic re-check of open sockets) share one query. Whatever is asked
 * before the event loop next runs its immediates goes in one batch — so a storm of WebSocket upgrades
 * read in one pass of the poll phase costs one round trip, not one per socket — and nothing is
 * cached: every batch reads afresh (callers keep their own short caches, dropped on change events).
 */
import DataLoader from 'dataloader';

const MAX_BATCH = 500;

export function batchLoader<K, V>(load: DataLoader.BatchLoadFn<K, V>, key?: (k: K) => string): DataLoader<K, V, string | K> {
	return new DataLoader<K, V, string | K>(load, {
		cache: false,
		maxBatchSize: MAX_BATCH,
		batchScheduleFn: (run) => setImmediate(run),
		...(key ? { cacheKeyFn: key } : {})
	});
}
