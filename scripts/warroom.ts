/**
 * The command line: `npm run warroom -- <command>`.
 *
 *   db migrate | db down                 run migrations up to the latest / one step down
 *   user add --username U --name "N" [--admin | --role manager|responder|viewer] [--email E] [--phone P]
 *                                        password from a hidden prompt, or stdin when piped
 *   audit verify                         check the hash chain; prints the first broken link
 *   token create --name N --user U --scopes incidents:read,incidents:write
 *                                        an API token acting as user U (username); printed once
 *   playbooks check [dir]                validate every playbook file; exit 1 if any is broken
 *
 * It opens the same database the server would (DATABASE_URL or the PGlite data directory). With
 * PGlite, stop the server first: one process per data directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/lib/server/config';
import { migrateDown, migrateToLatest, openDatabase } from '../src/lib/server/db/index';
import { EventBus } from '../src/lib/server/events';
import { SYSTEM_ACTOR, type AppContext } from '../src/lib/server/context';
import { verifyChain } from '../src/lib/server/services/audit.service';
import { createUser } from '../src/lib/server/services/users.service';

function usage(code = 2): never {
	process.stderr.write(
		fs
			.readFileSync(new URL(import.meta.url), 'utf8')
			.split('*/')[0]!
			.replace(/^\/\*\*|^ \* ?/gm, '') + '\n'
	);
	process.exit(code);
}

async function readPassword(): Promise<string> {
	if (!process.stdin.isTTY) {
		const chunks: Buffer[] = [];
		for await (const c of process.stdin) chunks.push(c as Buffer);
		return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
	}
	const ask = (prompt: string) =>
		new Promise<string>((resolve) => {
			process.stdout.write(prompt);
			const stdin = process.stdin;
			stdin.setRawMode(true);
			stdin.resume();
			let value = '';
			const onData = (buf: Buffer) => {
				for (const ch of buf.toString('utf8')) {
					if (ch === '\r' || ch === '\n') {
						stdin.setRawMode(false);
						stdin.pause();
						stdin.off('data', onData);
						process.stdout.write('\n');
						return resolve(value);
					}
					if (ch === '\u0003') process.exit(130);
					if (ch === '\u007f') value = value.slice(0, -1);
					else value += ch;
				}
			};
			stdin.on('data', onData);
		});
	const a = await ask('Password: ');
	const b = await ask('Repeat password: ');
	if (a !== b) {
		process.stderr.write('The passwords do not match.\n');
		process.exit(1);
	}
	return a;
}

async function withContext<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T> {
	const config = loadConfig();
	const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
	try {
		await migrateToLatest(handle.db);
		return await fn({ db: handle.db, dbKind: handle.kind, config, events: new EventBus(), now: () => new Date() });
	} finally {
		await handle.close();
	}
}

async function main(): Promise<number> {
	const [cmd, sub, ...rest] = process.argv.slice(2);
	if (cmd === 'db' && (sub === 'migrate' || sub === 'down')) {
		const config = loadConfig();
		const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
		try {
			const r = sub === 'migrate' ? await migrateToLatest(handle.db) : await migrateDown(handle.db);
			for (const m of r.results ?? []) console.log(`${m.direction === 'Up' ? '↑' : '↓'} ${m.migrationName}: ${m.status}`);
			if (!r.results?.length) console.log('Nothing to do: the database is up to date.');
		} finally {
			await handle.close();
		}
		return 0;
	}
	if (cmd === 'user' && sub === 'add') {
		const { values } = parseArgs({
			args: rest,
			options: {
				username: { type: 'string' },
				name: { type: 'string' },
				admin: { type: 'boolean', default: false },
				role: { type: 'string' },
				email: { type: 'string' },
				phone: { type: 'string' },
				locale: { type: 'string' }
			}
		});
		if (!values.username) {
			process.stderr.write('user add: --username is required\n');
			return 2;
		}
		const password = await readPassword();
		return withContext(async (ctx) => {
			const r = await createUser(ctx, SYSTEM_ACTOR, {
				username: values.username,
				displayName: values.name ?? values.username,
				globalRole: values.admin ? 'admin' : (values.role ?? 'responder'),
				email: values.email,
				phone: values.phone,
				locale: values.locale,
				password
			});
			if (!r.ok) {
				const errors = 'errors' in r.error ? r.error.errors : [r.error];
				for (const e of errors) process.stderr.write(`user add: ${e.field ? `--${e.field}: ` : ''}${e.message}\n`);
				return 1;
			}
			console.log(`Created ${r.value.global_role} ${r.value.username} (${r.value.id}).`);
			return 0;
		});
	}
	if (cmd === 'audit' && sub === 'verify') {
		return withContext(async (ctx) => {
			const r = await verifyChain(ctx.db);
			if (r.ok) {
				console.log(`audit chain intact: ${r.events} events verified`);
				return 0;
			}
			console.log(`audit chain BROKEN at event #${r.brokenAt.seq} (${r.brokenAt.id}): ${r.brokenAt.reason}`);
			return 1;
		});
	}
	if (cmd === 'token' && sub === 'create') {
		const { values } = parseArgs({
			args: rest,
			options: { name: { type: 'string' }, user: { type: 'string' }, scopes: { type: 'string' } }
		});
		if (!values.name || !values.user || !values.scopes) {
			process.stderr.write('token create: --name, --user and --scopes are required\n');
			return 2;
		}
		return withContext(async (ctx) => {
			const { createApiToken } = await import('../src/lib/server/services/api-token.service');
			const { findByUsername } = await import('../src/lib/server/repositories/users.repository');
			const user = await findByUsername(ctx.db, values.user!);
			if (!user) {
				process.stderr.write(`token create: --user: no user ${values.user}\n`);
				return 1;
			}
			const r = await createApiToken(ctx, SYSTEM_ACTOR, { name: values.name, userId: user.id, scopes: values.scopes });
			if (!r.ok) {
				const errors = 'errors' in r.error ? r.error.errors : [r.error];
				for (const e of errors)
					process.stderr.write(`token create: ${e.field ? `--${e.field === 'userId' ? 'user' : e.field}: ` : ''}${e.message}\n`);
				return 1;
			}
			// The only time the token is shown: stdout alone, so `TOKEN=$(… token create …)` works.
			process.stderr.write(
				`Created API token "${r.value.view.name}" for ${user.username} with ${r.value.view.scopes.join(', ')}. It is shown once:\n`
			);
			console.log(r.value.token);
			return 0;
		});
	}
	if (cmd === 'playbooks' && sub === 'check') {
		const dir = path.resolve(rest[0] ?? 'playbooks');
		const { checkPlaybooks, formatIssue } = await import('../src/lib/domain/playbook');
		const files = fs
			.readdirSync(dir)
			.filter((f) => /\.ya?ml$/.test(f))
			.sort()
			.map((f) => ({ path: path.relative(process.cwd(), path.join(dir, f)), text: fs.readFileSync(path.join(dir, f), 'utf8') }));
		const result = checkPlaybooks(files);
		for (const bad of result.invalid) for (const issue of bad.errors) console.log(formatIssue(issue));
		console.log(
			`${result.valid.length} valid, ${result.invalid.length} invalid playbook file(s) in ${path.relative(process.cwd(), dir) || '.'}`
		);
		return result.invalid.length ? 1 : 0;
	}
	usage();
}

main().then(
	(code) => process.exit(code),
	(error: unknown) => {
		process.stderr.write(`warroom: ${error instanceof Error ? error.message : String(error)}\n`);
		process.exit(1);
	}
);
