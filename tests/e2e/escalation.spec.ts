import { expect, test, type Browser, type Page } from '@playwright/test';
import { login } from './helpers';

async function open(browser: Browser, username: string): Promise<{ page: Page; close: () => Promise<void> }> {
	const context = await browser.newContext({ locale: 'en-US' });
	await context.addCookies([{ name: 'warroom_lang', value: 'en', url: test.info().project.use.baseURL! }]);
	const page = await context.newPage();
	await login(page, username);
	return { page, close: () => context.close() };
}

test('a responder drafts a report, the manager returns it, it is fixed and approved, head office acknowledges and the war room shows it live', async ({
	browser
}) => {
	const manager = await open(browser, 'manager');
	const responder = await open(browser, 'responder2');
	const exec = await open(browser, 'exec');
	const stamp = Date.now();

	// The manager declares a P1 and makes responder2 the communications lead.
	await manager.page.goto('/incidents/new');
	const form = manager.page.getByTestId('declare-form');
	await form.locator('#f-title').fill(`E2E core banking batch stuck ${stamp}`);
	await form.getByLabel(/CORE-BANKING/).check();
	await form.locator('#f-impact').selectOption('extensive');
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

	// The responder drafts the initial report and submits it.
	await responder.page.goto(`${incidentUrl}/escalation`);
	await responder.page.locator('select[name=reportKind]').selectOption('initial');
	await responder.page.getByRole('button', { name: 'Draft a report' }).click();
	const draft = responder.page.locator('article.communication').first();
	await expect(draft).toHaveAttribute('data-state', 'draft');
	await draft.locator('textarea[name="text.actionsTaken.en"]').fill(`Batch job restarted ${stamp}`);
	await draft.getByRole('button', { name: 'Submit for approval' }).click();
	await expect(responder.page.locator('article.communication').first()).toHaveAttribute('data-state', 'submitted');

	// The manager returns it with comments.
	await manager.page.goto(`${incidentUrl}/escalation`);
	const submitted = manager.page.locator('article.communication[data-state=submitted]').first();
	await submitted.locator('textarea[name=comment]').fill('Add the number of affected branches.');
	await submitted.getByRole('button', { name: 'Return with comments' }).click();
	await expect(manager.page.locator('article.communication').first()).toHaveAttribute('data-state', 'returned');

	// The responder fixes it and submits again.
	await responder.page.reload();
	const returned = responder.page.locator('article.communication[data-state=returned]').first();
	await expect(returned).toContainText('Add the number of affected branches.');
	await returned.locator('textarea[name="text.actionsTaken.en"]').fill(`Batch job restarted; 42 branches affected ${stamp}`);
	await returned.getByRole('button', { name: 'Submit for approval' }).click();
	await expect(responder.page.locator('article.communication').first()).toHaveAttribute('data-state', 'submitted');

	// The manager approves: frozen and sent to head office.
	await manager.page.reload();
	await manager.page
		.locator('article.communication[data-state=submitted]')
		.first()
		.getByRole('button', { name: 'Approve and send' })
		.click();
	await expect(manager.page.locator('article.communication').first()).toHaveAttribute('data-state', 'sent');

	// The manager watches the war room while head office acknowledges in another browser.
	await manager.page.goto(incidentUrl);
	await expect(manager.page.getByTestId('connection-state')).toHaveAttribute('data-status', 'live');
	await exec.page.goto('/inbox');
	const item = exec.page.locator('article', { hasText: `42 branches affected ${stamp}` });
	await expect(item).toBeVisible();
	await item.getByRole('button', { name: 'Acknowledge' }).click();
	await expect(exec.page.locator('article', { hasText: `42 branches affected ${stamp}` })).toContainText('You acknowledged this');

	await expect(manager.page.getByTestId('timeline-list')).toContainText(/Head office \(.+\) acknowledged the/, { timeout: 15_000 });
	for (const s of [manager, responder, exec]) await s.close();
});
