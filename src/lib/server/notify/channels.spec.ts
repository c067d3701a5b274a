import { describe, expect, it } from 'vitest';
import { httpUrlProblem, maskConfig, maskSecret, maskUrl } from './channels';

describe('channel settings', () => {
	it('shows only the origin and the last four characters of a robot URL, whose query is its access token', () => {
		const url = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa';
		const masked = maskUrl(url)!;
		expect(masked).toBe('https://qyapi.weixin.qq.com/••••••••5aaa');
		expect(masked).not.toContain('693a91f6');
	});

	it('masks a secret but keeps its last four characters so two can be told apart', () => {
		expect(maskSecret('SECabcdefghijklmnop1234')).toBe('••••••••1234');
		expect(maskSecret('short')).toBe('••••••••');
		expect(maskSecret('')).toBeNull();
	});

	it('never puts the SMTP password into the view', () => {
		const view = maskConfig('email', {
			host: 'smtp.bank.cn',
			port: 587,
			security: 'starttls',
			username: 'warroom',
			password: 'p@ss-w0rd!',
			from: 'warroom@bank.cn',
			to: ['ops@bank.cn']
		});
		expect(JSON.stringify(view)).not.toContain('p@ss-w0rd!');
		expect(view.password).toBe('••••••••');
		expect(view.to).toEqual(['ops@bank.cn']);
	});

	it('accepts only http and https addresses with a host', () => {
		expect(httpUrlProblem('https://hooks.slack.com/services/T/B/X')).toBeUndefined();
		expect(httpUrlProblem('http://10.0.0.5:8080/hook')).toBeUndefined();
		expect(httpUrlProblem('ftp://example.com/x')).toBe('invalid_scheme');
		expect(httpUrlProblem('javascript:alert(1)')).toBe('invalid_scheme');
		expect(httpUrlProblem('not a url')).toBe('invalid_url');
	});
});
