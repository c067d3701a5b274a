/**
 * Counts the statements a piece of code sends: the same database behind a Kysely plugin that records
 * each query's kind ('select', 'update', …) in order. Give the code `{ ...ctx, db }` — a new context
 * object, so per-context state (caches, batch loaders) starts fresh for it.
 */
import type { Kysely, KyselyPlugin } from 'kysely';

export function countingDb<DB>(db: Kysely<DB>): { db: Kysely<DB>; queries: string[] } {
	const queries: string[] = [];
	const plugin: KyselyPlugin = {
		transformQuery(args) {
			queries.push(args.node.kind.replace(/QueryNode$|Node$/, '').toLowerCase());
			return args.node;
		},
		transformResult(args) {
			return Promise.resolve(args.result);
		}
	};
	return { db: db.withPlugin(plugin), queries };
}
