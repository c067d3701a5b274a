import { expect, test, type Page } from '@playwright/test';
import { openAs } from './helpers';

async function addEntry(page: Page, text: string): Promise<void> {
	await page.getByTestId('quick-add-text').fill(text);
	await page.getByTestId('quick-add-text').press('Enter');
	await expect(page.getByTestId('timeline-list').getByText(text)).toBeVisible();
}

async function entryTexts(page: Page): Promise<string[]> {
	return (await page.getByTestId('entry-text').allTextContents()).map((s) => s.trim()).sort();
}

test('two responders write one timeline live, and entries written offline merge on reconnect', async ({ browser }) => {
	const manager = await openAs(browser, 'manager');
	const responder = await openAs(browser, 'responder2');

	// The demo P1 (core banking) has both of them in its response group.
	await manager.page.goto(`/incidents?priority=P1&drill=exclude&q=${encodeURIComponent('Core banking degraded')}`);
	const href = await manager.page.getByTestId('incident-list').locator('a').first().getAttribute('href');
	await manager.page.goto(href!);
	await responder.page.goto(href!);
	for (const p of [manager.page, responder.page]) await expect(p.getByTestId('connection-state')).toHaveAttribute('data-status', 'live');

	const stamp = Date.now();
	await addEntry(manager.page, `Failover to the standby database started ${stamp}`);
	await expect(responder.page.getByTestId('timeline-list').getByText(`Failover to the standby database started ${stamp}`)).toBeVisible();
	await addEntry(responder.page, `Replication lag is zero on the standby ${stamp}`);
	await expect(manager.page.getByTestId('timeline-list').getByText(`Replication lag is zero on the standby ${stamp}`)).toBeVisible();
	// Acknowledged by the server: nothing unsaved.
	await expect(responder.page.getByTestId('connection-state')).toHaveAttribute('data-unsaved', '0');

	// The responder loses the network and keeps writing.
	await responder.page.context().setOffline(true);
	await expect(responder.page.getByTestId('connection-state')).toHaveAttribute('data-status', 'offline', { timeout: 20_000 });
	await addEntry(responder.page, `Written offline: branch 0311 confirms recovery ${stamp}`);
	await addEntry(responder.page, `Written offline: ATM channel back ${stamp}`);
	await expect(responder.page.getByTestId('connection-state')).not.toHaveAttribute('data-unsaved', '0');
	await expect(
		responder.page
			.getByTestId('timeline-entry')
			.filter({ hasText: `ATM channel back ${stamp}` })
			.getByTestId('entry-offline')
	).toBeVisible();
	// Meanwhile the manager writes too.
	await addEntry(manager.page, `Head office informed by phone ${stamp}`);

	await responder.page.context().setOffline(false);
	await expect(responder.page.getByTestId('connection-state')).toHaveAttribute('data-status', 'live', { timeout: 30_000 });
	await expect(responder.page.getByTestId('connection-state')).toHaveAttribute('data-unsaved', '0', { timeout: 15_000 });
	await expect(manager.page.getByTestId('timeline-list').getByText(`ATM channel back ${stamp}`)).toBeVisible();
	await expect(responder.page.getByTestId('timeline-list').getByText(`Head office informed by phone ${stamp}`)).toBeVisible();

	// One merged timeline: both see exactly the same entries, none twice.
	await expect.poll(async () => JSON.stringify(await entryTexts(manager.page))).toBe(JSON.stringify(await entryTexts(responder.page)));
	const texts = await entryTexts(manager.page);
	expect(new Set(texts).size).toBe(texts.length);

	// Nothing is lost on a reload either (read back from the server).
	await manager.page.reload();
	await expect(
		manager.page.getByTestId('timeline-list').getByText(`Written offline: branch 0311 confirms recovery ${stamp}`)
	).toBeVisible();

	// The service worker keeps the war room: reloading it with no network still shows it and takes entries.
	await responder.page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
	await responder.page.reload();
	await expect(responder.page.getByTestId('connection-state')).toHaveAttribute('data-status', 'live');
	await responder.page.context().setOffline(true);
	await responder.page.reload();
	await expect(responder.page.getByTestId('warroom')).toBeVisible();
	await expect(responder.page.getByTestId('timeline-list').getByText(`Head office informed by phone ${stamp}`)).toBeVisible();
	await addEntry(responder.page, `Written after an offline reload ${stamp}`);
	await responder.page.context().setOffline(false);
	await expect(manager.page.getByTestId('timeline-list').getByText(`Written after an offline reload ${stamp}`)).toBeVisible({
		timeout: 30_000
	});
	await manager.close();
	await responder.close();
});
