/**
 * The suites that need the production process run `build-server/server/index.js` — from a private
 * copy taken at start, because other people rebuild `build/` in the same working tree at any moment
 * (a half-written build directory would look like a crash). Builds first when there is no complete
 * build (or RELIABILITY_REBUILD=1); otherwise uses the existing one, so runs in a row do not rebuild.
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../../..');
const complete = () =>
	['build-server/server/index.js', 'build/handler.js', 'build/index.js'].every((f) => fs.existsSync(path.join(root, f)));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let copy: string | undefined;

function signature(): { key: string; newest: number } {
	const parts: string[] = [];
	let newest = 0;
	const walk = (dir: string) => {
		if (!fs.existsSync(dir)) return;
		for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
			const p = path.join(dir, e.name);
			if (e.isDirectory()) walk(p);
			else {
				const st = fs.statSync(p);
				newest = Math.max(newest, st.mtimeMs);
				parts.push(`${p}:${st.size}:${st.mtimeMs}`);
			}
		}
	};
	walk(path.join(root, 'build'));
	walk(path.join(root, 'build-server'));
	return { key: parts.sort().join('|'), newest };
}

export default async function setup(): Promise<() => void> {
	// Someone else's build may be under way: give it a few minutes to finish before building ourselves.
	for (let i = 0; i < 180 && !complete() && process.env.RELIABILITY_REBUILD !== '1'; i++) await sleep(1000);
	if (!complete() || process.env.RELIABILITY_REBUILD === '1') {
		console.log('reliability: building the production build (npm run build)…');
		execSync('npm run build', { cwd: root, stdio: 'inherit' });
	}
	// Copy, and keep the copy only if nothing changed while copying and nothing was written for a few
	// seconds before (a build in progress renames chunks; a torn copy would fail to start).
	const until = Date.now() + 300_000;
	for (;;) {
		const before = signature();
		const quietFor = Date.now() - before.newest;
		if (quietFor > 5000) {
			copy = fs.mkdtempSync(path.join(os.tmpdir(), 'warroom-rel-build-'));
			for (const dir of ['build', 'build-server']) fs.cpSync(path.join(root, dir), path.join(copy, dir), { recursive: true });
			if (signature().key === before.key && complete()) break;
			fs.rmSync(copy, { recursive: true, force: true });
		}
		if (Date.now() > until) throw new Error('reliability: the production build kept changing for 5 minutes; try again');
		await sleep(2000);
	}
	fs.copyFileSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
	fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
	const entry = path.join(copy, 'build-server/server/index.js');
	const age = Math.round((Date.now() - fs.statSync(path.join(root, 'build-server/server/index.js')).mtimeMs) / 60_000);
	console.log(`reliability: production build from ${age} min ago, copied to ${copy} (RELIABILITY_REBUILD=1 to rebuild)`);
	process.env.WARROOM_RELIABILITY_ENTRY = entry;
	return () => {
		if (copy) fs.rmSync(copy, { recursive: true, force: true });
	};
}
