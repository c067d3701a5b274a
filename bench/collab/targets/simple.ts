/** Launchers for the three targets without access control (A raw relay, B stock, C Hocuspocus). */
import type { RunningTarget, TargetName, TargetOptions, TargetStats } from '../types';
import { cpuTimesOf, freePort, HOST, plainRooms, rssOf, spawnPinned, tsxArgs, waitForPort } from './common';

/** When each frees an empty room: what its code does (see the server scripts' headers). */
const ROOM_RELEASE: Record<Exclude<TargetName, 'ours'>, RunningTarget['roomRelease']> = {
	raw: { afterMs: 0, note: 'counts from its /bench-stats (its room map); it drops a room when the last socket closes' },
	stock: {
		afterMs: Infinity,
		note: "counts from its /bench-stats (the package's `docs` map); without persistence @y/websocket-server never deletes a room (utils.js closeConn deletes one only when a persistence is set)"
	},
	hocuspocus: {
		afterMs: 0,
		note: 'counts from its /bench-stats (getDocumentsCount()); with no extension it unloads a document when its last connection closes (unloadImmediately)'
	}
};

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
		async stats() {
			const res = await fetch(`http://${HOST}:${port}/bench-stats`, { signal: AbortSignal.timeout(5_000) });
			if (!res.ok) throw new Error(`${name}: /bench-stats answered ${res.status}`);
			return (await res.json()) as TargetStats;
		},
		upgradeCacheMs: 0,
		roomRelease: ROOM_RELEASE[name],
		memory: () => child.memoryAfterGc(),
		rssBytes: () => rssOf(child.pid),
		cpu: () => cpuTimesOf(child.pid),
		stop: () => child.stop()
	};
}
