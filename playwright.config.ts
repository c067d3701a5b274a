import { defineConfig } from '@playwright/test';
import os from 'node:os';
import path from 'node:path';

// End-to-end tests run against the production build (build/ + build-server/) on a fresh embedded
// database with demo data, in Debian's Chromium (Playwright's own browser download cannot work here).
const PORT = Number(process.env.E2E_PORT ?? 4173);
const dataDir = path.join(os.tmpdir(), `warroom-e2e-${process.pid}-${Date.now()}`);

export default defineConfig({
	testDir: 'tests/e2e',
	fullyParallel: false,
	workers: 1,
	retries: process.env.CI ? 1 : 0,
	timeout: 60_000,
	expect: { timeout: 10_000 },
	reporter: process.env.CI ? [['list']] : [['list']],
	use: {
		baseURL: `http://localhost:${PORT}`,
		locale: 'en-US',
		trace: 'retain-on-failure',
		launchOptions: {
			executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
			args: [
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
				'--disable-dev-shm-usage'
			]
		}
	},
	webServer: {
		command: 'node build-server/server/index.js',
		url: `http://localhost:${PORT}/api/health`,
		reuseExistingServer: false,
		timeout: 120_000,
		stdout: 'ignore',
		stderr: 'pipe',
		env: {
			PORT: String(PORT),
			ORIGIN: `http://localhost:${PORT}`,
			WARROOM_DEMO: '1',
			WARROOM_DATA_DIR: dataDir,
			LOG_LEVEL: 'warn'
		}
	}
});
