import { expect, test, type Browser, type Page } from '@playwright/test';
import { login } from './helpers';

const PLAYBOOK = 'database-primary-failover';

async function englishPage(browser: Browser, username: string): Promise<Page> {
	const context = await browser.newContext({ locale: 'en-US' });
	await context.addCookies([{ name: 'warroom_lang', value: 'en', url: test.info().project.use.baseURL! }]);
	const page = await context.newPage();
	await login(page, username);
	return page;
}

function step(page: Page, stepId: string) {
	return page.locator(`[data-testid=run][data-playbook=${PLAYBOOK}] [data-testid=step][data-step=${stepId}]`);
}

test('a manager loads a playbook, two members tick steps and see each other live, and a mandatory step is skipped only with a reason', async ({
	browser
}) => {
	const manager = await englishPage(browser, 'manager');
	const responder = await englishPage(browser, 'responder');

	// The manager declares a P1 on core banking and adds a responder to the response group.
	await manager.goto('/incidents/new');
	const form = manager.getByTestId('declare-form');
	await form.locator('#f-title').fill(`E2E core database down ${Date.now()}`);
	await form.getByLabel(/CORE-BANKING/).check();
	await form.locator('#f-impact').selectOption('extensive');
	await form.locator('#f-urgency').selectOption('critical');
	await form.getByTestId('declare').click();
	await expect(manager.getByTestId('warroom')).toBeVisible();
	const warRoom = new URL(manager.url()).pathname;
	const add = manager.getByTestId('add-member');
	const value = await add.locator('#add-user option', { hasText: '(responder)' }).getAttribute('value');
	await add.locator('#add-user').selectOption(value!);
	await add.locator('#add-role').selectOption('responder');
	await add.getByRole('button').click();
	await expect(manager.locator('tr[data-member=responder]')).toBeVisible();

	// The playbook is suggested for the affected service; loading it builds the checklist.
	const playbooks = `${warRoom}/playbooks`;
	await manager.goto(playbooks);
	const suggestion = manager.locator(`[data-testid=suggestion][data-playbook=${PLAYBOOK}]`);
	await expect(suggestion).toBeVisible();
	await suggestion.getByTestId('load').click();
	await expect(step(manager, 'form-response-group')).toBeVisible();
	await expect(manager.locator(`[data-testid=suggestion][data-playbook=${PLAYBOOK}]`)).toHaveCount(0);
	// Owner roles are resolved to the people holding them.
	await expect(step(manager, 'form-response-group').getByTestId('owner')).toContainText('Wang Li');
	await expect(step(manager, 'stop-writers').getByTestId('owner')).toContainText('Li Qiang');

	await responder.goto(playbooks);
	await expect(step(responder, 'form-response-group')).toHaveAttribute('data-state', 'open');

	// The manager ticks a step: the responder sees it without reloading, with who and when.
	await step(manager, 'form-response-group').getByTestId('tick').click();
	await expect(step(manager, 'form-response-group')).toHaveAttribute('data-state', 'done');
	await expect(step(responder, 'form-response-group')).toHaveAttribute('data-state', 'done', { timeout: 15_000 });
	await expect(step(responder, 'form-response-group').getByTestId('done-by')).toContainText('Wang Li');

	// And the other way round.
	await step(responder, 'confirm-primary-down').getByTestId('tick').click();
	await expect(step(manager, 'confirm-primary-down')).toHaveAttribute('data-state', 'done', { timeout: 15_000 });
	await expect(step(manager, 'confirm-primary-down').getByTestId('done-by')).toContainText('Li Qiang');
	await expect(manager.locator(`[data-testid=run][data-playbook=${PLAYBOOK}] [data-testid=progress]`)).toContainText('2 /');

	// Skipping a mandatory step without a reason is refused with a clear error.
	const lag = step(responder, 'check-standby-lag');
	await lag.getByTestId('skip-toggle').click();
	await lag.getByTestId('skip-submit').click();
	await expect(lag.getByTestId('skip-error')).toContainText('needs a reason');
	await expect(lag).toHaveAttribute('data-state', 'open');

	// With a reason it is skipped and recorded as a deviation; the manager sees the skip live.
	await lag.locator('textarea[name=reason]').fill('Standby is on the same failed array; lag cannot be read');
	await lag.getByTestId('skip-submit').click();
	await expect(step(responder, 'check-standby-lag')).toHaveAttribute('data-state', 'skipped');
	await expect(responder.locator('[data-testid=deviation][data-step=check-standby-lag]')).toContainText(
		'Standby is on the same failed array'
	);
	await expect(step(manager, 'check-standby-lag')).toHaveAttribute('data-state', 'skipped', { timeout: 15_000 });
	await expect(step(manager, 'check-standby-lag').getByTestId('done-by')).toContainText('Li Qiang');

	// The ticks and the skip are in the incident's timeline.
	await manager.goto(warRoom);
	await expect(manager.getByText('completed "Form the response group and open the bridge"').first()).toBeVisible({ timeout: 15_000 });
	await expect(manager.getByText(/skipped the mandatory step "Check standby synchronisation and lag"/).first()).toBeVisible();

	await manager.context().close();
	await responder.context().close();
});

test('without JavaScript a manager starts a drill from a playbook, ticks, reopens and skips steps through the server', async ({
	browser
}) => {
	const context = await browser.newContext({ locale: 'en-US', javaScriptEnabled: false });
	await context.addCookies([{ name: 'warroom_lang', value: 'en', url: test.info().project.use.baseURL! }]);
	const page = await context.newPage();
	await login(page, 'manager');

	// A drill: declared, marked, and the playbook already loaded.
	await page.goto(`/playbooks/${PLAYBOOK}/drill`);
	await page.getByTestId('start-drill').click();
	await expect(page.getByTestId('warroom')).toBeVisible();
	const warRoom = new URL(page.url()).pathname;
	await page.goto(`${warRoom}/playbooks`);
	await expect(page.getByTestId('drill-badge')).toBeVisible();
	await expect(step(page, 'form-response-group')).toHaveAttribute('data-state', 'open');

	await step(page, 'form-response-group').getByTestId('tick').click();
	await expect(step(page, 'form-response-group')).toHaveAttribute('data-state', 'done');
	await expect(step(page, 'form-response-group').getByTestId('done-by')).toContainText('Wang Li');
	await step(page, 'form-response-group').getByTestId('tick').click();
	await expect(step(page, 'form-response-group')).toHaveAttribute('data-state', 'open');

	// Skipping a mandatory step: refused without a reason, recorded with one.
	const lag = step(page, 'check-standby-lag');
	await lag.getByTestId('skip-toggle').click();
	await lag.getByTestId('skip-submit').click();
	await expect(step(page, 'check-standby-lag').getByTestId('skip-error')).toContainText('needs a reason');
	await step(page, 'check-standby-lag').locator('textarea[name=reason]').fill('Drill: no standby in the lab');
	await step(page, 'check-standby-lag').getByTestId('skip-submit').click();
	await expect(step(page, 'check-standby-lag')).toHaveAttribute('data-state', 'skipped');
	await expect(page.locator('[data-testid=deviation][data-step=check-standby-lag]')).toContainText('no standby in the lab');
	await context.close();
});
