/**
 * Target B: the stock y-websocket server of `@y/websocket-server` 0.1.1 — its own `setupWSConnection`
 * (its Y.Doc per room, sync, awareness, broadcast), no persistence, no auth — behind a `ws` 8
 * WebSocketServer, the same `ws` as the other targets (the package's bin would load its nested ws 6).
 * `GET /bench-stats` answers the package's own room map size (`docs`) and the socket count. Without
 * persistence the package never deletes a room from `docs` (utils.js `closeConn` does so only when
 * a persistence is set), so rooms stay loaded after their last client left.
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { docs, setupWSConnection } from '@y/websocket-server/utils';

const port = Number(process.env.PORT);
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const server = http.createServer((req, res) => {
	if (req.url === '/bench-stats') {
		res.setHeader('content-type', 'application/json');
		return res.end(JSON.stringify({ rooms: docs.size, connections: wss.clients.size }));
	}
	res.end('okay');
});
server.on('upgrade', (req, socket, head) => {
	wss.handleUpgrade(req, socket, head, (ws) => setupWSConnection(ws, req));
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
	for (const c of wss.clients) c.terminate();
	server.close(() => process.exit(0));
	setTimeout(() => process.exit(0), 2000).unref();
});
