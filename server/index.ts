/**
 * The production entry: one http.Server for the SvelteKit handler, the WebSocket upgrades the app
 * registers, and the scheduled jobs. Only process and transport live here; the app is started by the
 * bundle's own `init` hook when the handler is imported.
 */
import http from 'node:http';
import { appHooks } from './registry.ts';

const SHUTDOWN_GRACE_MS = 10_000;
/**
 * Connections the kernel may hold completed but not yet accepted (capped by net.core.somaxconn). Node's
 * default, 511, is less than a reconnect storm: when a thousand tabs reconnect at once (a restart, a
 * network blip), the handshakes past a full queue are dropped and their clients retry a second or more
 * later (bench/collab join storm, N = 1,000: one in three runs of every target took over a second).
 */
const LISTEN_BACKLOG = 4096;

function logLine(level: string, msg: string, fields: Record<string, unknown> = {}): void {
	process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + '\n');
}

async function main(): Promise<void> {
	const hooks = appHooks();
	// Assigned once the bundle has loaded; requests that arrive before that get a 503.
	// eslint-disable-next-line prefer-const
	let handler: http.RequestListener | undefined;
	const server = http.createServer((req, res) => {
		if (!handler) return res.writeHead(503, { 'retry-after': '1' }).end('Starting');
		const h = handler;
		if (hooks.intercept?.(req, res, () => h(req, res))) return;
		h(req, res);
	});
	server.on('upgrade', (req, socket, head) => {
		socket.on('error', () => socket.destroy());
		if (!hooks.upgrade) {
			socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
			return;
		}
		try {
			hooks.upgrade(req, socket, head);
		} catch (error) {
			logLine('error', 'upgrade handler failed', { error: String(error) });
			socket.destroy();
		}
	});

	const port = Number(process.env.PORT ?? 3000);
	const host = process.env.HOST ?? '0.0.0.0';
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen({ port, host, backlog: LISTEN_BACKLOG }, resolve);
	});
	const address = server.address();
	const actualPort = typeof address === 'object' && address ? address.port : port;
	// SvelteKit's adapter assumes https when ORIGIN is unset, which breaks form actions on a plain
	// local start; default to the address we actually listen on.
	if (!process.env.ORIGIN?.trim()) process.env.ORIGIN = `http://localhost:${actualPort}`;
	process.env.PORT = String(actualPort);
	// Importing the handler runs the app's `init` (configuration, database, migrations).
	const handlerUrl = new URL('../../build/handler.js', import.meta.url).href;
	handler = ((await import(handlerUrl)) as { handler: http.RequestListener }).handler;
	hooks.ready?.(process.env.ORIGIN);
	hooks.startJobs?.();

	let stopping: Promise<void> | undefined;
	const shutdown = (signal: string) => {
		stopping ??= (async () => {
			logLine('info', 'shutting down', { signal });
			const closed = new Promise<void>((resolve) => server.close(() => resolve()));
			server.closeIdleConnections();
			const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
			timer.unref();
			try {
				await hooks.shutdown?.();
			} catch (error) {
				logLine('error', 'app shutdown failed', { error: String(error) });
			}
			server.closeAllConnections();
			await closed;
			clearTimeout(timer);
			logLine('info', 'stopped');
			process.exit(0);
		})();
		return stopping;
	};
	process.on('SIGTERM', () => void shutdown('SIGTERM'));
	process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
	process.stderr.write(`Warroom could not start: ${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
});
