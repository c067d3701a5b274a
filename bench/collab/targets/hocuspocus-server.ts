/**
 * Target C: Hocuspocus 3.4.4 with its defaults and no extensions (no persistence, no auth hook).
 * Its protocol prefixes every y-protocols message with the document name and waits for an auth
 * message per document before it syncs (the harness speaks it; see harness/protocol.ts). With no
 * extension it unloads a document as soon as its last connection closes (`unloadImmediately`).
 * `GET /bench-stats` answers its document and connection counts (an `onRequest` hook that rejects
 * with nothing stops Hocuspocus' default answer).
 */
import { Server } from '@hocuspocus/server';

const port = Number(process.env.PORT);
const server = new Server({
	port,
	address: '127.0.0.1',
	quiet: true,
	stopOnSignals: false,
	async onRequest({ request, response, instance }) {
		if (request.url !== '/bench-stats') return;
		response.writeHead(200, { 'content-type': 'application/json' });
		response.end(JSON.stringify({ rooms: instance.getDocumentsCount(), connections: instance.getConnectionsCount() }));
		// Hocuspocus: a hook that rejects with an empty reason ends the request without its default answer.
		return Promise.reject(null);
	}
});
await server.listen();
process.on('SIGTERM', () => {
	void server.destroy().finally(() => process.exit(0));
	setTimeout(() => process.exit(0), 3000).unref();
});
