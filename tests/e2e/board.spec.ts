import { expect, test } from '@playwright/test';
import { declareWithMember, openAs } from './helpers';

test('a manager approves a status update and an executive’s open board shows it without reload; kiosk mode renders', async ({
	browser
}) => {
	const manager = await openAs(browser, 'manager');
	const comms = await openAs(browser, 'responder2');
	const exec = await openAs(browser, 'exec');
	const stamp = Date.now();
	const title = `E2E mobile banking login failures ${stamp}`;

	const incidentUrl = await declareWithMember(manager.page, {
		title: title,
		service: 'MOBILE-BANKING',
		impact: 'significant',
		urgency: 'critical',
		member: 'responder2',
		role: 'communications_lead'
	});

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
