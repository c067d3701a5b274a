import { expect, test } from '@playwright/test';
import { declareWithMember, openAs } from './helpers';

test('a responder drafts a report, the manager returns it, it is fixed and approved, head office acknowledges and the war room shows it live', async ({
	browser
}) => {
	const manager = await openAs(browser, 'manager');
	const responder = await openAs(browser, 'responder2');
	const exec = await openAs(browser, 'exec');
	const stamp = Date.now();

	// The manager declares a P1 and makes responder2 the communications lead.
	const incidentUrl = await declareWithMember(manager.page, {
		title: `E2E core banking batch stuck ${stamp}`,
		service: 'CORE-BANKING',
		impact: 'extensive',
		urgency: 'critical',
		member: 'responder2',
		role: 'communications_lead'
	});

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
