import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/lib/server/db/index';
import { DataDirLockedError } from '../../src/lib/server/db/lock';

const children: ChildProcess[] = [];
afterEach(() => {
	for (const c of children.splice(0)) c.kill('SIGKILL');
});

function tempDir(): string {
	return fs.mkdtempSync(path.join(os.tmpdir(), 'warroom-lock-'));
}

describe('the PGlite data directory lock', () => {
	it('refuses a second process on the same directory with a clear message', async () => {
		const dir = tempDir();
		const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
		children.push(holder);
		fs.writeFileSync(path.join(dir, 'warroom.lock'), String(holder.pid));
		const attempt = openDatabase({ dataDir: dir });
		await expect(attempt).rejects.toBeInstanceOf(DataDirLockedError);
		await expect(openDatabase({ dataDir: dir })).rejects.toThrow(`in use by another Warroom process (pid ${holder.pid})`);
	});

	it('takes over the lock of a process that died without releasing it', async () => {
		const dir = tempDir();
		const dead = spawn(process.execPath, ['-e', '0']);
		await new Promise((r) => dead.on('exit', r));
		fs.writeFileSync(path.join(dir, 'warroom.lock'), String(dead.pid));
		const handle = await openDatabase({ dataDir: dir });
		expect(fs.readFileSync(path.join(dir, 'warroom.lock'), 'utf8')).toBe(String(process.pid));
		await handle.close();
		expect(fs.existsSync(path.join(dir, 'warroom.lock'))).toBe(false);
	});

	it('keeps data on disk across a close and reopen', async () => {
		const dir = tempDir();
		const a = await openDatabase({ dataDir: dir });
		await a.db.schema.createTable('kept').addColumn('v', 'text').execute();
		await a.db
			.insertInto('kept' as never)
			.values({ v: 'still here' } as never)
			.execute();
		await a.close();
		const b = await openDatabase({ dataDir: dir });
		const rows = await b.db
			.selectFrom('kept' as never)
			.selectAll()
			.execute();
		expect(rows).toEqual([{ v: 'still here' }]);
		await b.close();
	});

	it('makes the command line stop with the same message while the server holds the directory', async () => {
		const dir = tempDir();
		const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
		children.push(holder);
		fs.writeFileSync(path.join(dir, 'warroom.lock'), String(holder.pid));
		const cli = spawn(process.execPath, ['--import', 'tsx', 'scripts/warroom.ts', 'audit', 'verify'], {
			env: { ...process.env, WARROOM_DATA_DIR: dir, DATABASE_URL: '' },
			cwd: path.resolve(__dirname, '..', '..')
		});
		let stderr = '';
		cli.stderr.on('data', (d) => (stderr += d));
		const code = await new Promise<number | null>((r) => cli.on('exit', r));
		expect(code).toBe(1);
		expect(stderr).toContain('is in use by another Warroom process');
	});
});
