/**
 * Target B: the stock y-websocket server of `@y/websocket-server` 0.1.1 — its own `setupWSConnection`
 * (its Y.Doc per room, sync, awareness, broadcast), no persistence, no auth — behind a `ws` 8
 * WebSocketServer, the same `ws` as the other targets (the package's bin would load its nested ws 6).
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { setupWSConnection } from '@y/websocket-server/utils';

const port = Number(process.env.PORT);
const server = http.createServer((_req, res) => res.end('okay'));
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on('upgrade', (req, socket, head) => {
	wss.handleUpgrade(req, socket, head, (ws) => setupWSConnection(ws, req));
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
	for (const c of wss.clients) c.terminate();
	server.close(() => process.exit(0));
	setTimeout(() => process.exit(0), 2000).unref();
});
