/**
 * Every 30 s: warn before and act on breaches of the report, update and acknowledgement clocks, and
 * deliver approved reports a crash left undelivered (see clocks.service.ts).
 */
import { runEscalationClocks } from '../services/clocks.service';
import { log } from '../log';
import type { Job } from './scheduler';

export const ESCALATION_CLOCKS_EVERY_SECONDS = 30;

export const escalationClocksJob: Job = {
	name: 'escalation-clocks',
	everySeconds: ESCALATION_CLOCKS_EVERY_SECONDS,
	async run(ctx, now) {
		const r = await runEscalationClocks(ctx, now);
		if (r.reminders || r.delivered) log.info('escalation clocks', { ...r });
	}
};
