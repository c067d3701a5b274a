import { expect, test, type Browser, type Page } from '@playwright/test';
import { login } from './helpers';

async function open(browser: Browser, username: string): Promise<{ page: Page; close: () => Promise<void> }> {
	const context = await browser.newContext({ locale: 'en-US' });
	await context.addCookies([{ name: 'warroom_lang', value: 'en', url: test.info().project.use.baseURL! }]);
	const page = await context.newPage();
	await login(page, username);
	return { page, close: () => context.close() };
}

test('a manager approves a status update and an executive’s open board shows it without reload; kiosk mode renders', async ({
	browser
}) => {
	const manager = await open(browser, 'manager');
	const comms = await open(browser, 'responder2');
	const exec = await open(browser, 'exec');
	const stamp = Date.now();
	const title = `E2E mobile banking login failures ${stamp}`;

	await manager.page.goto('/incidents/new');
	const form = manager.page.getByTestId('declare-form');
	await form.locator('#f-title').fill(title);
	await form.getByLabel(/MOBILE-BANKING/).check();
	await form.locator('#f-impact').selectOption('significant');
	await form.locator('#f-urgency').selectOption('critical');
	await manager.page.getByTestId('declare').click();
	await expect(manager.page.getByTestId('warroom')).toBeVisible();
	const incidentUrl = manager.page.url();
	const add = manager.page.getByTestId('add-member');
	const value = await add.locator('#add-user option', { hasText: '(responder2)' }).getAttribute('value');
	await add.locator('#add-user').selectOption(value!);
	await add.locator('#add-role').selectOption('communications_lead');
	await add.getByRole('button').click();
	await expect(manager.page.locator('tr[data-member=responder2]')).toBeVisible();

	// The executive's board shows the incident, with no approved line yet — never the raw timeline.
	await exec.page.goto('/board');
	const card = exec.page.getByTestId('board-incident').filter({ hasText: title });
	await expect(card).toBeVisible();
	await expect(card.getByTestId('approved-line')).not.toContainText(`Login service restarted ${stamp}`);

	// The communications lead drafts and submits a status update.
	await comms.page.goto(`${incidentUrl}/escalation`);
	await comms.page.getByRole('button', { name: 'Draft a status update' }).click();
	const draft = comms.page.locator('article.communication[data-state=draft]').first();
	await draft.locator('input[name="text.headline.en"], textarea[name="text.headline.en"]').fill(`Login service restarted ${stamp}`);
	await draft.getByRole('button', { name: 'Submit for approval' }).click();
	await expect(comms.page.locator('article.communication').first()).toHaveAttribute('data-state', 'submitted');
	// A submitted draft is still not on the board.
	await expect(card.getByTestId('approved-line')).not.toContainText(`Login service restarted ${stamp}`);

	// The incident manager approves; the board updates live.
	await manager.page.goto(`${incidentUrl}/escalation`);
	await manager.page
		.locator('article.communication[data-state=submitted]')
		.first()
		.getByRole('button', { name: 'Approve and send' })
		.click();
	await expect(card.getByTestId('approved-line')).toContainText(`Login service restarted ${stamp}`, { timeout: 15_000 });

	// Kiosk mode for the wall screen.
	await exec.page.goto('/board/kiosk');
	await expect(exec.page.getByTestId('kiosk')).toBeVisible();
	await expect(exec.page.getByTestId('board-incident')).toBeVisible();
	for (const s of [manager, comms, exec]) await s.close();
});
