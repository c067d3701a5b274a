import fs from 'node:fs';
import { expect, test } from '@playwright/test';
import { declareWithMember, openAs } from './helpers';

test('two reviewers write the root cause together, the manager publishes, the incident closes and the PDF downloads', async ({
	browser
}) => {
	const manager = await openAs(browser, 'manager');
	const scribe = await openAs(browser, 'responder2');
	const stamp = Date.now();

	const incidentUrl = await declareWithMember(manager.page, {
		title: `E2E 数据仓库批量作业失败 data warehouse batch failed ${stamp}`,
		service: 'DATA-WAREHOUSE',
		impact: 'moderate',
		urgency: 'high',
		member: 'responder2',
		role: 'scribe'
	});

	// Resolve it: the review starts.
	await manager.page.getByTestId('status-form').locator('#to').selectOption('resolved');
	await manager.page.getByTestId('status-form').getByRole('button').click();
	await expect(manager.page.getByTestId('status')).toHaveText('Resolved');
	// The live stream can show the new status before the form's own reload has finished; a click in
	// between is a navigation that reload then replaces. Wait for the form's answer, as a person does.
	await expect(manager.page.getByRole('status').filter({ hasText: 'Incident saved.' })).toBeVisible();
	await manager.page.getByTestId('review-link').click();
	await manager.page.waitForURL(/\/review$/);
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
