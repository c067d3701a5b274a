/**
 * The reliability suites (issue 10): faults, abuse and access, each printing a figures line.
 * `RELIABILITY_PROFILE=quick` (default, CI) or `full` (the numbers). Separate from
 * vite.config.ts so `npm test` stays fast; run with `npm run test:faults|test:abuse|test:access`.
 */
import { defineConfig } from 'vitest/config';
import base from './vite.config.ts';

const full = process.env.RELIABILITY_PROFILE === 'full';

export default defineConfig({
	...base,
	test: {
		include: ['tests/reliability/**/*.test.ts'],
		environment: 'node',
		testTimeout: full ? 1_800_000 : 300_000,
		hookTimeout: full ? 600_000 : 180_000,
		// The suites measure latency and kill processes: one file at a time, never in parallel.
		fileParallelism: false,
		globalSetup: ['tests/reliability/support/global-setup.ts'],
		reporters: ['default']
	}
});
