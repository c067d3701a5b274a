import fs from 'node:fs';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { login } from './helpers';

async function open(browser: Browser, username: string): Promise<{ page: Page; close: () => Promise<void> }> {
	const context = await browser.newContext({ locale: 'en-US', acceptDownloads: true });
	await context.addCookies([{ name: 'warroom_lang', value: 'en', url: test.info().project.use.baseURL! }]);
	const page = await context.newPage();
	await login(page, username);
	return { page, close: () => context.close() };
}

test('two reviewers write the root cause together, the manager publishes, the incident closes and the PDF downloads', async ({
	browser
}) => {
	const manager = await open(browser, 'manager');
	const scribe = await open(browser, 'responder2');
	const stamp = Date.now();

	await manager.page.goto('/incidents/new');
	const form = manager.page.getByTestId('declare-form');
	await form.locator('#f-title').fill(`E2E 数据仓库批量作业失败 data warehouse batch failed ${stamp}`);
	await form.getByLabel(/DATA-WAREHOUSE/).check();
	await form.locator('#f-impact').selectOption('moderate');
	await form.locator('#f-urgency').selectOption('high');
	await manager.page.getByTestId('declare').click();
	await expect(manager.page.getByTestId('warroom')).toBeVisible();
	const incidentUrl = manager.page.url();
	const add = manager.page.getByTestId('add-member');
	const value = await add.locator('#add-user option', { hasText: '(responder2)' }).getAttribute('value');
	await add.locator('#add-user').selectOption(value!);
	await add.locator('#add-role').selectOption('scribe');
	await add.getByRole('button').click();
	await expect(manager.page.locator('tr[data-member=responder2]')).toBeVisible();

	// Resolve it: the review starts.
	await manager.page.getByTestId('status-form').locator('#to').selectOption('resolved');
	await manager.page.getByTestId('status-form').getByRole('button').click();
	await expect(manager.page.getByTestId('status')).toHaveText('Resolved');
	await manager.page.getByTestId('review-link').click();
	await scribe.page.goto(`${incidentUrl}/review`);

	// Two reviewers write the root cause together, live.
	const mine = manager.page.locator('#review-root_cause');
	const theirs = scribe.page.locator('#review-root_cause');
	await expect(mine).toBeEditable();
	await expect(theirs).toBeEditable();
	await mine.fill(`ETL 作业磁盘写满 the ETL disk filled up ${stamp}`);
	await expect(theirs).toHaveValue(`ETL 作业磁盘写满 the ETL disk filled up ${stamp}`);
	await theirs.fill(`ETL 作业磁盘写满 the ETL disk filled up ${stamp}; no alert below 95%`);
	await expect(mine).toHaveValue(`ETL 作业磁盘写满 the ETL disk filled up ${stamp}; no alert below 95%`);

	// The scribe sends it for review; the manager publishes and closes.
	await scribe.page.getByRole('button', { name: 'Send for review' }).click();
	await expect(scribe.page.getByRole('button', { name: 'Send for review' })).toHaveCount(0);
	await manager.page.reload();
	await manager.page.getByTestId('publish').click();
	await expect(manager.page.getByTestId('publish')).toHaveCount(0);
	await manager.page.getByTestId('close').click();
	await expect(manager.page.getByTestId('close')).toHaveCount(0);
	await manager.page.goto(incidentUrl);
	await expect(manager.page.getByTestId('status')).toHaveText('Closed');

	// The PDF downloads.
	await manager.page.goto(`${incidentUrl}/review`);
	const [download] = await Promise.all([manager.page.waitForEvent('download'), manager.page.getByTestId('export-pdf').click()]);
	const file = await download.path();
	const head = fs.readFileSync(file!).subarray(0, 5).toString('latin1');
	expect(head).toBe('%PDF-');
	expect(fs.statSync(file!).size).toBeGreaterThan(5_000);
	for (const s of [manager, scribe]) await s.close();
});
