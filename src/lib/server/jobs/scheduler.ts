/**
 * The job registry and runner (DESIGN.md §1, §3.6). Features register jobs with `registerJob`; the
 * jobs module starts one node-cron task per job once the server listens and stops them on shutdown.
 *
 * A job is data-driven: every tick reads what is due from the database and calls the same services
 * the screens use, so nothing is lost when the process restarts — the first tick after start-up
 * catches up. Each tick of a job runs once across nodes through the lease coordinator
 * (lease-coordinator.ts), wired in as node-cron's `runCoordinator`.
 *
 * Schedules are fixed intervals expressed as cron patterns in UTC: a zone without daylight saving,
 * so the DST fall-back hour neither pauses nor doubles a sub-hourly schedule (node-cron matches wall
 * clock time in the task's zone). Due times themselves are UTC instants (domain/clocks.ts).
 */
import cron, { type RunCoordinator, type ScheduledTask } from 'node-cron';
import type { AppContext } from '../context';
import { log } from '../log';
import { leaseCoordinator } from './lease-coordinator';

export interface Job {
	/** kebab-case, unique; also the lease name. */
	name: string;
	/** How often it runs. 1–59 seconds dividing 60, or whole minutes dividing 60. */
	everySeconds: number;
	/** One tick: find due work in the database at `now` and do it. Must be idempotent. */
	run(ctx: AppContext, now: Date): Promise<void>;
}

const JOB_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
const SECONDS_PER_MINUTE = 60;
/** How long a tick may hold its lease before another node may take the next slot. */
export const MAX_TICK_LEASE_MS = 5 * 60_000;

const registry = new Map<string, Job>();

/** The cron pattern (with seconds) for a fixed interval; throws for an interval cron cannot express evenly. */
export function cronPattern(everySeconds: number): string {
	if (!Number.isInteger(everySeconds) || everySeconds <= 0)
		throw new Error(`everySeconds must be a positive whole number of seconds; got ${everySeconds}`);
	if (everySeconds < SECONDS_PER_MINUTE) {
		if (SECONDS_PER_MINUTE % everySeconds !== 0)
			throw new Error(`everySeconds ${everySeconds} must divide 60 so every minute has the same ticks`);
		return `*/${everySeconds} * * * * *`;
	}
	const minutes = everySeconds / SECONDS_PER_MINUTE;
	if (!Number.isInteger(minutes) || SECONDS_PER_MINUTE % minutes !== 0)
		throw new Error(`everySeconds ${everySeconds} must be whole minutes that divide an hour (60, 120, 300, …, 3600)`);
	return minutes === SECONDS_PER_MINUTE ? '0 0 * * * *' : `0 */${minutes} * * * *`;
}

/** Adds a job to the registry (at module load). A second job with the same name is a programming error. */
export function registerJob(job: Job): void {
	if (!JOB_NAME_PATTERN.test(job.name)) throw new Error(`job name ${JSON.stringify(job.name)} must be kebab-case (a-z, 0-9, -)`);
	cronPattern(job.everySeconds);
	const existing = registry.get(job.name);
	if (existing && existing !== job) throw new Error(`a job named ${job.name} is already registered`);
	registry.set(job.name, job);
}

export function registeredJobs(): Job[] {
	return [...registry.values()];
}

export function getJob(name: string): Job | undefined {
	return registry.get(name);
}

/**
 * One tick of a job, with the error handling every tick gets: a failure is logged with the job's name
 * and the tick goes on next time. Returns whether the tick completed.
 */
export async function runTick(ctx: AppContext, job: Job, now: Date = ctx.now()): Promise<boolean> {
	const started = Date.now();
	try {
		await job.run(ctx, now);
		log.debug('job tick done', { job: job.name, ms: Date.now() - started });
		return true;
	} catch (error) {
		log.error('job tick failed', { job: job.name, error });
		return false;
	}
}

export interface JobRunner {
	start(): void;
	/** Idempotent; waits for running ticks to finish. */
	stop(): Promise<void>;
	/**
	 * Runs one slot of a job through the coordinator, as node-cron would: true when this runner took
	 * the slot and the tick completed, false when another node had it or the tick failed.
	 */
	runSlot(name: string, slot: Date): Promise<boolean>;
	readonly holderId: string;
}

export function createJobRunner(ctx: AppContext, opts: { holderId?: string; jobs?: Job[]; coordinator?: RunCoordinator } = {}): JobRunner {
	const holderId = opts.holderId ?? `${process.pid}-${crypto.randomUUID()}`;
	const coordinator = opts.coordinator ?? leaseCoordinator(ctx, { holderId });
	const tasks: ScheduledTask[] = [];
	const jobsOf = () => opts.jobs ?? registeredJobs();
	let started = false;
	let stopping: Promise<void> | undefined;

	return {
		holderId,
		start() {
			if (started) return;
			started = true;
			for (const job of jobsOf()) {
				const task = cron.schedule(cronPattern(job.everySeconds), () => runTick(ctx, job), {
					name: job.name,
					timezone: 'UTC',
					noOverlap: true,
					distributed: true,
					runCoordinator: coordinator,
					distributedLease: MAX_TICK_LEASE_MS
				});
				tasks.push(task);
			}
			log.info('jobs started', { jobs: jobsOf().map((j) => `${j.name}/${j.everySeconds}s`), holder: holderId });
		},
		stop() {
			stopping ??= (async () => {
				for (const task of tasks) {
					try {
						await task.destroy();
					} catch (error) {
						log.warn('stopping a job failed', { job: task.name, error });
					}
				}
				tasks.length = 0;
			})();
			return stopping;
		},
		async runSlot(name, slot) {
			const job = jobsOf().find((j) => j.name === name);
			if (!job) throw new Error(`no job named ${name}`);
			const key = `${name}:${slot.toISOString()}`;
			if (!(await coordinator.shouldRun(key, MAX_TICK_LEASE_MS))) return false;
			try {
				return await runTick(ctx, job, slot);
			} finally {
				await coordinator.onComplete?.(key);
			}
		}
	};
}
