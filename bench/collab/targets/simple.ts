/** Launchers for the three targets without access control (A raw relay, B stock, C Hocuspocus). */
import type { RunningTarget, TargetName, TargetOptions } from '../types';
import { freePort, HOST, plainRooms, rssOf, spawnPinned, tsxArgs, waitForPort } from './common';

export async function startSimple(name: Exclude<TargetName, 'ours'>, script: string, opts: TargetOptions): Promise<RunningTarget> {
	const port = await freePort();
	const child = spawnPinned(opts.cpu, tsxArgs(script), { PORT: String(port), NODE_ENV: 'production' });
	await waitForPort(child, port);
	return {
		name,
		pid: child.pid,
		// Hocuspocus takes the document name from each message, not from the URL.
		wsUrl: (room) => (name === 'hocuspocus' ? `ws://${HOST}:${port}/` : `ws://${HOST}:${port}/${encodeURIComponent(room)}`),
		headers: () => ({}),
		rooms: async (n) => plainRooms(n),
		persistent: false,
		rssBytes: () => rssOf(child.pid),
		stop: () => child.stop()
	};
}
