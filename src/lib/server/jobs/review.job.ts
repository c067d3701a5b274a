/**
 * The closure-loop jobs (issue 8). Both are data-driven and idempotent (DESIGN.md §3.6):
 * - `review-follow-up` (every 5 minutes): starts the review of every resolved incident that has none,
 *   sends the satisfaction surveys of recently resolved incidents, and reminds owners of action items
 *   before and after their due date (marks on the rows make each reminder go once).
 * - `monthly-report` (hourly): generates last month's service-quality reports when they do not exist,
 *   so the report appears on the 1st and a process that was down then catches up.
 */
import type { Job } from './scheduler';
import { startPendingReviews } from '../services/review.service';
import { sendPendingSurveys } from '../services/survey.service';
import { sendActionItemReminders } from '../services/action-item.service';
import { generateDueMonthlyReports } from '../services/report.service';

export const reviewFollowUpJob: Job = {
	name: 'review-follow-up',
	everySeconds: 300,
	async run(ctx, now) {
		await startPendingReviews(ctx);
		await sendPendingSurveys(ctx, now);
		await sendActionItemReminders(ctx, now);
	}
};

export const monthlyReportJob: Job = {
	name: 'monthly-report',
	everySeconds: 3600,
	async run(ctx, now) {
		await generateDueMonthlyReports(ctx, now);
	}
};
