/**
 * Real sockets for the collab tests: an http.Server on port 0 whose upgrades go to the collab handler,
 * the stock y-websocket provider with a `ws` subclass that sends the session cookie and Origin, and a
 * raw `ws` client for frames the stock client would never send. No socket mocks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { WebsocketProvider } from 'y-websocket';
import { createSession } from '../../src/lib/server/auth/sessions';
import type { AppContext } from '../../src/lib/server/context';
import { createCollabServer, type CollabServer, type CollabServerOptions } from '../../src/lib/server/collab/collab-server';
import { MESSAGE_ACK } from '../../src/lib/server/collab/protocol';

export interface Harness {
	server: CollabServer;
	http: http.Server;
	port: number;
	/** ws://127.0.0.1:<port>/collab */
	url: string;
	/** The Origin a browser on this host would send. */
	origin: string;
	close(): Promise<void>;
}

export async function startHarness(ctx: AppContext, opts: Partial<CollabServerOptions> = {}): Promise<Harness> {
	const server = createCollabServer(ctx, { roomIdleMs: 60_000, flushIntervalMs: 20, ...opts });
	await server.start();
	const httpServer = http.createServer((_req, res) => {
		res.statusCode = 404;
		res.end();
	});
	httpServer.on('upgrade', (req, socket, head) => server.handleUpgrade(req, socket, head));
	await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
	const port = (httpServer.address() as AddressInfo).port;
	let closed: Promise<void> | undefined;
	return {
		server,
		http: httpServer,
		port,
		url: `ws://127.0.0.1:${port}/collab`,
		origin: `http://127.0.0.1:${port}`,
		close() {
			closed ??= (async () => {
				await server.close();
				httpServer.closeAllConnections();
				await new Promise<void>((resolve) => httpServer.close(() => resolve()));
			})();
			return closed;
		}
	};
}

export async function sessionCookie(ctx: AppContext, userId: string): Promise<{ cookie: string; sessionId: string }> {
	const { token, session } = await createSession(ctx, { userId, ip: null, userAgent: null });
	return { cookie: `warroom_session=${token}`, sessionId: session.id };
}

/** A WebSocket class for y-websocket that carries the headers a browser would send. */
export function socketClass(headers: {
	cookie?: string;
	origin?: string;
}): new (address: string | URL, protocols?: string | string[]) => WebSocket {
	return class extends WebSocket {
		constructor(address: string | URL, protocols?: string | string[]) {
			const h: Record<string, string> = {};
			if (headers.cookie) h.Cookie = headers.cookie;
			if (headers.origin) h.Origin = headers.origin;
			super(address, protocols, { headers: h });
		}
	};
}

export interface Client {
	doc: Y.Doc;
	provider: WebsocketProvider;
	/** Highest ack count received (clients that ask for acks). */
	acked: () => number;
	ackLog: number[];
	closes: { code: number; reason: string }[];
	destroy(): void;
}

export function connectProvider(
	h: Harness,
	opts: { room: string; cookie: string; origin?: string; doc?: Y.Doc; acks?: boolean; connect?: boolean }
): Client {
	const doc = opts.doc ?? new Y.Doc();
	const provider = new WebsocketProvider(h.url, opts.room, doc, {
		WebSocketPolyfill: socketClass({ cookie: opts.cookie, origin: opts.origin ?? h.origin }) as never,
		disableBc: true,
		connect: opts.connect ?? true,
		params: opts.acks ? { acks: '1' } : {},
		maxBackoffTime: 200
	});
	const ackLog: number[] = [];
	provider.messageHandlers[MESSAGE_ACK] = (_encoder, decoder) => {
		ackLog.push(decoding.readVarUint(decoder));
	};
	const closes: { code: number; reason: string }[] = [];
	provider.on('connection-close', (event) => {
		if (event) closes.push({ code: event.code, reason: event.reason });
	});
	return {
		doc,
		provider,
		ackLog,
		acked: () => ackLog.at(-1) ?? 0,
		closes,
		destroy() {
			provider.destroy();
			doc.destroy();
		}
	};
}

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
	const start = Date.now();
	while (!(await cond())) {
		if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 10));
	}
}

export function synced(c: Client): Promise<void> {
	return waitFor(() => c.provider.synced, 'the provider to sync');
}

/** Opens a raw socket; resolves with the HTTP status of a refusal, or the open socket. */
export function rawUpgrade(
	h: Harness,
	opts: { path: string; cookie?: string; origin?: string | null; autoPong?: boolean }
): Promise<{ status: number; body: string } | { ws: WebSocket }> {
	return new Promise((resolve, reject) => {
		const headers: Record<string, string> = {};
		if (opts.cookie) headers.Cookie = opts.cookie;
		const origin = opts.origin === undefined ? h.origin : opts.origin;
		const ws = new WebSocket(`ws://127.0.0.1:${h.port}${opts.path}`, {
			headers,
			autoPong: opts.autoPong ?? true,
			...(origin ? { origin } : {})
		});
		ws.on('unexpected-response', (_req, res) => {
			let body = '';
			res.on('data', (c: Buffer) => (body += c.toString()));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
			res.on('error', reject);
		});
		ws.on('open', () => resolve({ ws }));
		ws.on('error', (e) => {
			// 'unexpected-response' already answered; a socket error after that is the server hanging up.
			if (!String(e.message).includes('Unexpected server response')) reject(e);
		});
	});
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
	return new Promise((resolve) => {
		if (ws.readyState === ws.CLOSED) return resolve({ code: 1006, reason: 'already closed' });
		ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
	});
}
