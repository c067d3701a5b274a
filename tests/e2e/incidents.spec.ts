import { expect, test } from '@playwright/test';
import { login } from './helpers';

test('a responder proposes, a manager accepts and forms the group, a paged responder acknowledges and the manager sees it live', async ({
	browser
}) => {
	const responderCtx = await browser.newContext({ locale: 'en-US' });
	const managerCtx = await browser.newContext({ locale: 'en-US' });
	// Both in English for stable text (the demo accounts' own setting is Chinese; the browser's choice wins).
	for (const c of [responderCtx, managerCtx])
		await c.addCookies([{ name: 'warroom_lang', value: 'en', url: test.info().project.use.baseURL! }]);
	const responder = await responderCtx.newPage();
	const manager = await managerCtx.newPage();
	await login(responder, 'responder');
	await login(manager, 'manager');

	// The responder proposes a major incident.
	await responder.goto('/incidents/new');
	const form = responder.getByTestId('declare-form');
	const title = `E2E payments gateway errors ${Date.now()}`;
	await form.locator('#f-title').fill(title);
	await form.locator('#f-description').fill('Card payments fail for about 20% of requests.');
	await form.getByLabel(/PAYMENTS/).check();
	await form.locator('#f-impact').selectOption('significant');
	await form.locator('#f-urgency').selectOption('critical');
	await expect(responder.getByTestId('computed-priority')).toHaveText('P1');
	await form.locator('button[name=mode][value=propose]').click();
	await expect(responder.getByTestId('warroom')).toBeVisible();
	await expect(responder.getByTestId('status')).toHaveText('Proposed');
	const url = responder.url();

	// The manager accepts it and forms the response group.
	await manager.goto(url);
	await manager.getByTestId('accept').click();
	await expect(manager.getByTestId('status')).not.toHaveText('Proposed');
	const add = manager.getByTestId('add-member');
	const value = await add.locator('#add-user option', { hasText: '(responder2)' }).getAttribute('value');
	await add.locator('#add-user').selectOption(value!);
	await add.locator('#add-role').selectOption('technical_lead');
	await add.getByRole('button').click();
	await expect(manager.locator('tr[data-member=responder2]')).toBeVisible();
	// The proposer counts as acknowledged; the newly added technical lead has been paged.
	await expect(manager.locator('tr[data-member=responder] [data-testid=ack-state]')).toContainText('✓');
	await expect(manager.locator('tr[data-member=responder2] [data-testid=ack-state]')).toContainText('Not acknowledged');

	// The paged responder, in another browser, acknowledges.
	const secondCtx = await browser.newContext({ locale: 'en-US' });
	await secondCtx.addCookies([{ name: 'warroom_lang', value: 'en', url: test.info().project.use.baseURL! }]);
	const second = await secondCtx.newPage();
	await login(second, 'responder2');
	await second.goto(url);
	await second.getByTestId('acknowledge').click();
	await expect(second.getByTestId('acknowledge')).toHaveCount(0);

	// The manager's page shows it without a reload.
	await expect(manager.locator('tr[data-member=responder2] [data-testid=ack-state]')).toContainText('✓', { timeout: 15_000 });

	// The manager corrects the title and changes a member's role; both are recorded and shown.
	await manager.getByText('Edit', { exact: true }).click();
	await manager.getByTestId('edit-form').locator('#edit-title').fill(`${title} (card acquiring)`);
	await manager.getByTestId('edit-form').getByRole('button').click();
	await expect(manager.getByRole('heading', { level: 1 })).toHaveText(`${title} (card acquiring)`);
	const row = manager.locator('tr[data-member=responder2]');
	await row.locator('select[name=role]').selectOption('scribe');
	await row.getByRole('button', { name: 'Change role' }).click();
	await expect(manager.locator('tr[data-member=responder2]')).toContainText('Scribe');
	for (const c of [responderCtx, managerCtx, secondCtx]) await c.close();
});
