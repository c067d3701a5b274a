import { expect, test, type Browser, type Page } from '@playwright/test';

export const DEMO_PASSWORD = 'demo-password';

export async function login(page: Page, username: string, password = DEMO_PASSWORD): Promise<void> {
	await page.goto('/login');
	await page.locator('#username').fill(username);
	await page.locator('#password').fill(password);
	await page.locator('main form button[type=submit]').click();
	await expect(page.getByTestId('logout')).toBeVisible();
}

/** A signed-in browser of its own, in English (the demo accounts' own setting is Chinese; the browser's choice wins). */
export async function openAs(browser: Browser, username: string): Promise<{ page: Page; close: () => Promise<void> }> {
	const context = await browser.newContext({ locale: 'en-US', acceptDownloads: true });
	await context.addCookies([{ name: 'warroom_lang', value: 'en', url: test.info().project.use.baseURL! }]);
	const page = await context.newPage();
	await login(page, username);
	return { page, close: () => context.close() };
}

/**
 * A manager declares an incident through the form and adds one person to the response group;
 * returns the war room's URL.
 */
export async function declareWithMember(
	page: Page,
	opts: { title: string; service: string; impact: string; urgency: string; member: string; role: string }
): Promise<string> {
	await page.goto('/incidents/new');
	const form = page.getByTestId('declare-form');
	await form.locator('#f-title').fill(opts.title);
	await form.getByLabel(new RegExp(opts.service)).check();
	await form.locator('#f-impact').selectOption(opts.impact);
	await form.locator('#f-urgency').selectOption(opts.urgency);
	await page.getByTestId('declare').click();
	await expect(page.getByTestId('warroom')).toBeVisible();
	const add = page.getByTestId('add-member');
	const value = await add.locator('#add-user option', { hasText: `(${opts.member})` }).getAttribute('value');
	await add.locator('#add-user').selectOption(value!);
	await add.locator('#add-role').selectOption(opts.role);
	await add.getByRole('button').click();
	await expect(page.locator(`tr[data-member="${opts.member}"]`)).toBeVisible();
	return page.url();
}
