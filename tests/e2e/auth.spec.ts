import { expect, test } from '@playwright/test';
import { DEMO_PASSWORD, login } from './helpers';

test.describe('signing in and out', () => {
	test('a manager signs in and out in Chinese, then in English', async ({ browser }) => {
		const context = await browser.newContext({ locale: 'zh-CN' });
		const page = await context.newPage();
		await page.goto('/');
		await expect(page).toHaveURL(/\/login/);
		await expect(page.getByRole('heading', { name: '登录' })).toBeVisible();
		await login(page, 'manager');
		await expect(page.getByRole('heading', { name: /欢迎/ })).toBeVisible();
		await page.getByTestId('logout').click();
		await expect(page.getByText('您已退出登录。')).toBeVisible();

		await page.getByTestId('lang-switch').click();
		await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
		await login(page, 'manager');
		await expect(page.getByRole('heading', { name: /Welcome/ })).toBeVisible();
		await expect(page.locator('html')).toHaveAttribute('lang', 'en');
		await page.getByTestId('logout').click();
		await expect(page.getByText('You have signed out.')).toBeVisible();
		// The old session is gone on the server: the start page asks for a login again.
		await page.goto('/');
		await expect(page).toHaveURL(/\/login/);
		await context.close();
	});

	test('a wrong password is refused with the same message as an unknown user', async ({ page }) => {
		await page.goto('/login');
		await page.locator('#username').fill('responder');
		await page.locator('#password').fill('not-the-password');
		await page.locator('main form button[type=submit]').click();
		const wrong = await page.getByTestId('login-error').textContent();
		await page.locator('#username').fill('no-such-user');
		await page.locator('#password').fill('not-the-password');
		await page.locator('main form button[type=submit]').click();
		await expect(page.getByTestId('login-error')).toHaveText(wrong!);
		expect(wrong).toContain('Wrong username or password');
	});

	test('repeated failures throttle the account, even for the right password', async ({ page }) => {
		await page.goto('/login');
		const attempt = async (password: string) => {
			await page.locator('#username').fill('manager2');
			await page.locator('#password').fill(password);
			const answered = page.waitForResponse((r) => r.url().includes('/login') && r.request().method() === 'POST');
			await page.locator('main form button[type=submit]').click();
			await answered;
			return (await page.getByTestId('login-error').textContent())?.trim() ?? '';
		};
		for (let i = 0; i < 5; i++) expect(await attempt(`wrong-${i}`)).toContain('Wrong username or password');
		// From here every attempt waits out a growing back-off; a sixth wrong one is refused unchecked.
		expect(await attempt('wrong-again')).toContain('Too many failed attempts');
		expect(await attempt(DEMO_PASSWORD)).toContain('Too many failed attempts');
		await expect(page.getByTestId('logout')).toHaveCount(0);
	});

	test('an executive (viewer) cannot reach the administration pages', async ({ page }) => {
		await login(page, 'exec');
		const response = await page.goto('/admin/users');
		expect(response?.status()).toBe(403);
		await expect(page.getByRole('link', { name: /Administration|系统管理/ })).toHaveCount(0);
	});

	test('an admin creates a user who can then sign in', async ({ page, browser }) => {
		await login(page, 'admin');
		await page.goto('/admin/users');
		const form = page.getByTestId('create-user');
		// Inline validation: a short password is named at the field.
		await form.locator('#f-username').fill('oncall.db');
		await form.locator('#f-displayName').fill('值班 DBA On-call');
		await form.locator('#f-password').fill('short');
		await form.getByRole('button').click();
		await expect(form.locator('[data-field-error=password]')).toBeVisible();
		await form.locator('#f-password').fill('a-long-enough-password');
		await form.getByRole('button').click();
		await expect(page.getByText('User oncall.db created.')).toBeVisible();
		await expect(page.getByRole('link', { name: 'oncall.db' })).toBeVisible();

		const other = await browser.newContext();
		const p2 = await other.newPage();
		await login(p2, 'oncall.db', 'a-long-enough-password');
		await expect(p2.getByText('值班 DBA On-call').first()).toBeVisible();
		await other.close();
	});

	test('signing in works with JavaScript disabled', async ({ browser }) => {
		const ctx = await browser.newContext({ javaScriptEnabled: false, locale: 'zh-CN' });
		const page = await ctx.newPage();
		await page.goto('/login');
		await page.getByTestId('lang-switch').click();
		await login(page, 'responder2');
		await expect(page.getByRole('heading', { name: /Welcome/ })).toBeVisible();
		await page.getByTestId('logout').click();
		await expect(page.getByText('You have signed out.')).toBeVisible();
		await ctx.close();
	});
});
