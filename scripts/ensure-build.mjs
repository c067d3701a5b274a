// `npm start` on a fresh clone: build once if there is no build yet (or it is older than the sources).
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const stamp = path.join(root, 'build-server/server/index.js');

function newest(dir) {
	let t = 0;
	for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, entry.name);
		t = Math.max(t, entry.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
	}
	return t;
}

const built = fs.existsSync(stamp) && fs.existsSync(path.join(root, 'build/handler.js'));
const stale =
	built &&
	['src', 'server', 'playbooks', 'static'].some(
		(d) => fs.existsSync(path.join(root, d)) && newest(path.join(root, d)) > fs.statSync(stamp).mtimeMs
	);
if (!built || stale) {
	console.log(built ? 'Sources changed since the last build: building…' : 'No build yet: building (about a minute)…');
	execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
