import type { Plugin } from 'vite';
import { getUpgradeHandler } from './registry.ts';

/**
 * In `vite dev`, attach the same upgrade registry to Vite's own HTTP server, so the collab endpoint
 * works in development exactly as in production. Vite's HMR socket keeps its own path.
 */
export function collabDevPlugin(): Plugin {
	return {
		name: 'warroom-collab-dev',
		apply: 'serve',
		configureServer(server) {
			server.httpServer?.on('upgrade', (req, socket, head) => {
				if (req.headers['sec-websocket-protocol'] === 'vite-hmr') return;
				const handler = getUpgradeHandler();
				if (!handler) {
					// The app registers its handler on its first request (hooks init); ask the browser to retry.
					socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
					return;
				}
				handler(req, socket, head);
			});
		}
	};
}
