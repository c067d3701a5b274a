/**
 * Target C: Hocuspocus 3.4.4 with its defaults and no extensions (no persistence, no auth hook).
 * Its protocol prefixes every y-protocols message with the document name and waits for an auth
 * message per document before it syncs (the harness speaks it; see harness/protocol.ts).
 */
import { Server } from '@hocuspocus/server';

const port = Number(process.env.PORT);
const server = new Server({ port, address: '127.0.0.1', quiet: true, stopOnSignals: false });
await server.listen();
process.on('SIGTERM', () => {
	void server.destroy().finally(() => process.exit(0));
	setTimeout(() => process.exit(0), 3000).unref();
});
