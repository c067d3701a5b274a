/**
 * Structured JSON logs, one object per line on stdout/stderr, so an operations centre can ship them
 * to its log platform as they are.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: Level = (process.env.LOG_LEVEL as Level | undefined) ?? 'info';
if (!(threshold in ORDER)) threshold = 'info';

export function setLogLevel(level: Level): void {
	threshold = level;
}

function errorFields(value: unknown): unknown {
	if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
	return value;
}

function write(level: Level, msg: string, fields?: Record<string, unknown>): void {
	if (ORDER[level] < ORDER[threshold]) return;
	const entry: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
	if (fields) for (const [k, v] of Object.entries(fields)) entry[k] = errorFields(v);
	const line = JSON.stringify(entry) + '\n';
	if (level === 'error' || level === 'warn') process.stderr.write(line);
	else process.stdout.write(line);
}

export const log = {
	debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
	info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
	warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
	error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields)
};
