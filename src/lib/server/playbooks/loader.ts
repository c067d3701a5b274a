/**
 * The start-up playbook loader: reads every *.yaml / *.yml in the playbooks directory
 * (WARROOM_PLAYBOOKS_DIR, default ./playbooks), validates them exactly like
 * `npm run playbooks:check`, stores the valid ones as versions and keeps the broken ones, with
 * their issues, for the admins' "broken playbooks" panel.
 *
 * Never a crash and never a silent skip: a missing directory, an unreadable file or a broken file is
 * logged (one `path:line:column  message` line per issue, the format editors jump to) and the app
 * starts with whatever is valid. An incident in progress needs the other plans more than it needs
 * this one file fixed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { formatIssue, type PlaybookFile } from '../../domain/playbook';
import type { App } from '../app';
import type { AppContext } from '../context';
import { log } from '../log';
import { syncFilePlaybooks, type BrokenPlaybookFile, type FileSyncReport } from '../services/playbook.service';

const PLAYBOOK_FILE = /\.ya?ml$/i;

/** How a path is shown in logs and to admins: relative to the working directory, like the CLI. */
function displayPath(full: string): string {
	const rel = path.relative(process.cwd(), full);
	return rel && !rel.startsWith('..') ? rel : full;
}

export interface DirectoryRead {
	files: PlaybookFile[];
	unreadable: BrokenPlaybookFile[];
	/** Set when the directory itself could not be listed. */
	problem?: string;
}

/** Reads the playbook files of `dir` in name order (so duplicate-id messages are stable). */
export async function readPlaybookDirectory(dir: string): Promise<DirectoryRead> {
	let names: string[];
	try {
		const entries = await fs.readdir(dir, { withFileTypes: true });
		names = entries
			.filter((e) => e.isFile() && PLAYBOOK_FILE.test(e.name))
			.map((e) => e.name)
			.sort();
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		return {
			files: [],
			unreadable: [],
			problem: code === 'ENOENT' ? 'the directory does not exist' : `the directory cannot be read (${code ?? String(error)})`
		};
	}
	const files: PlaybookFile[] = [];
	const unreadable: BrokenPlaybookFile[] = [];
	for (const name of names) {
		const full = path.join(dir, name);
		const shown = displayPath(full);
		try {
			const bytes = await fs.readFile(full);
			const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
			files.push({ path: shown, text });
		} catch (error) {
			const why =
				error instanceof TypeError
					? 'the file is not valid UTF-8 text (save it as UTF-8)'
					: `the file cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
			unreadable.push({ path: shown, errors: [{ path: shown, line: 1, column: 1, code: 'yaml_syntax', field: '', message: why }] });
		}
	}
	return { files, unreadable };
}

/** Reads, validates, stores, and logs. Returns the report the admin panel shows. */
export async function loadPlaybooks(ctx: AppContext, dir = ctx.config.playbooksDir): Promise<FileSyncReport> {
	const read = await readPlaybookDirectory(dir);
	if (read.problem)
		log.warn(
			`playbooks: ${displayPath(dir)}: ${read.problem}; the library holds only playbooks stored before or imported (set WARROOM_PLAYBOOKS_DIR)`
		);
	const report = await syncFilePlaybooks(ctx, { dir, files: read.files, unreadable: read.unreadable });
	for (const bad of report.broken) for (const issue of bad.errors) log.warn(`playbooks: ${formatIssue(issue)}`);
	if (report.withdrawn.length) log.warn('playbooks: withdrawn from the library because their file is gone', { ids: report.withdrawn });
	log.info('playbooks loaded', {
		dir: displayPath(dir),
		valid: report.valid.length,
		broken: report.broken.length,
		newVersions: report.newVersions
	});
	return report;
}

/** The start-up module (listed in modules.ts). A failure is logged, never fatal. */
export async function playbooksModule(app: App): Promise<void> {
	try {
		await loadPlaybooks(app.ctx);
	} catch (error) {
		log.error('playbooks: loading the playbook directory failed; the library keeps what it had', { error });
	}
}
