/**
 * Target A, the physical limit: a `ws` relay that forwards every binary frame to the other sockets of
 * its room (the URL path) and knows nothing about Yjs, except one thing so clients can tell they are
 * "synced": a sync step 1 (`[0, 0, …]`) is answered with a constant, empty sync step 2 and not
 * forwarded. Run as a child process: `PORT=… node --import tsx raw-relay-server.ts`. `GET /bench-stats`
 * answers its room and socket counts (for the rooms scenario).
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env.PORT);
const rooms = new Map<string, Set<WebSocket>>();
/** messageSync, syncStep2, varUint8Array([0 structs, 0 deletes]). */
const EMPTY_STEP_2 = new Uint8Array([0, 1, 2, 0, 0]);

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024 });
const server = http.createServer((req, res) => {
	if (req.url === '/bench-stats') {
		res.setHeader('content-type', 'application/json');
		return res.end(JSON.stringify({ rooms: rooms.size, connections: wss.clients.size }));
	}
	res.end('raw relay');
});
server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
wss.on('connection', (ws, req) => {
	const name = (req.url ?? '/').split('?')[0]!;
	let room = rooms.get(name);
	if (!room) rooms.set(name, (room = new Set()));
	const peers = room;
	peers.add(ws);
	ws.on('message', (data: Buffer, isBinary) => {
		if (data.length >= 2 && data[0] === 0 && data[1] === 0) {
			ws.send(EMPTY_STEP_2);
			return;
		}
		for (const peer of peers) if (peer !== ws && peer.readyState === peer.OPEN) peer.send(data, { binary: isBinary });
	});
	ws.on('error', () => {});
	ws.on('close', () => {
		peers.delete(ws);
		if (peers.size === 0) rooms.delete(name);
	});
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
	for (const c of wss.clients) c.terminate();
	server.close(() => process.exit(0));
	setTimeout(() => process.exit(0), 2000).unref();
});
