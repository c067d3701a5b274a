/**
 * The jobs module: registers the built-in jobs, starts the runner when the server listens
 * (`onStartJobs`, skipped with WARROOM_JOBS=0) and stops it on shutdown (idempotent).
 */
import type { App } from '../app';
import { escalationClocksJob } from './escalation-clocks.job';
import { monthlyReportJob, reviewFollowUpJob } from './review.job';
import { createJobRunner, registerJob } from './scheduler';

export function jobsModule(app: App): void {
	registerJob(escalationClocksJob);
	registerJob(reviewFollowUpJob);
	registerJob(monthlyReportJob);
	const runner = createJobRunner(app.ctx);
	app.onStartJobs(() => runner.start());
	app.onShutdown(() => runner.stop());
}
