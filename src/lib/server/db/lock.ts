/**
 * PGlite allows one process per data directory; two would corrupt it. The lock is a file created
 * with O_EXCL holding the owner's PID. A lock whose process is gone (e.g. after SIGKILL) is stale and
 * is taken over; a live one makes the second process stop with a clear message.
 */
import fs from 'node:fs';
import path from 'node:path';

export class DataDirLockedError extends Error {
	constructor(
		readonly dataDir: string,
		readonly pid: number
	) {
		super(
			`The data directory ${dataDir} is in use by another Warroom process (pid ${pid}). ` +
				`PGlite allows one process per directory: stop that process, or set WARROOM_DATA_DIR to another directory, ` +
				`or use PostgreSQL (DATABASE_URL) to run several processes.`
		);
		this.name = 'DataDirLockedError';
	}
}

export interface DataDirLock {
	file: string;
	release(): void;
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		// EPERM means the process exists but belongs to someone else: still alive.
		return (e as NodeJS.ErrnoException).code === 'EPERM';
	}
}

export function acquireDataDirLock(dataDir: string): DataDirLock {
	const file = path.join(dataDir, 'warroom.lock');
	for (let attempt = 0; attempt < 3; attempt++) {
		try {
			const fd = fs.openSync(file, 'wx');
			fs.writeSync(fd, String(process.pid));
			fs.closeSync(fd);
			let released = false;
			return {
				file,
				release() {
					if (released) return;
					released = true;
					try {
						if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
					} catch {
						// Already gone: nothing to release.
					}
				}
			};
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
			const owner = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
			if (Number.isFinite(owner) && owner !== process.pid && alive(owner)) throw new DataDirLockedError(dataDir, owner);
			// Stale (owner died) or our own PID from a previous life: remove and retry.
			fs.rmSync(file, { force: true });
		}
	}
	throw new Error(`Could not acquire the lock ${file}`);
}
