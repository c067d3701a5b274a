import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

describe('configuration', () => {
	it('defaults to the embedded database in ./data on port 3000', () => {
		const c = loadConfig({});
		expect(c.databaseUrl).toBeUndefined();
		expect(c.dataDir.endsWith('/data')).toBe(true);
		expect(c.port).toBe(3000);
		expect(c.demo).toBe(false);
		expect(c.pageCacheMs).toBe(5000);
	});

	it.each([
		['PORT', 'eighty', /PORT must be a whole number/],
		['PORT', '70000', /PORT must be between 0 and 65535/],
		['DATABASE_URL', 'mysql://x', /DATABASE_URL must start with postgres/],
		['ORIGIN', 'not a url', /ORIGIN must be an origin/],
		['ORIGIN', 'ftp://x.example', /ORIGIN must use http or https/],
		['WARROOM_DEMO', 'maybe', /WARROOM_DEMO must be/],
		['WARROOM_TIME_ZONE', 'Mars/Olympus', /WARROOM_TIME_ZONE must be an IANA time zone/],
		['LOG_LEVEL', 'loud', /LOG_LEVEL must be debug, info, warn or error/],
		['SESSION_IDLE_TIMEOUT_MINUTES', '1', /SESSION_IDLE_TIMEOUT_MINUTES must be between/],
		['WARROOM_PAGE_CACHE_MS', '70000', /WARROOM_PAGE_CACHE_MS must be between 0 and 60000/],
		['WARROOM_PAGE_CACHE_MS', '1s', /WARROOM_PAGE_CACHE_MS must be a whole number/]
	])('fails fast naming %s when it is %j', (name, value, message) => {
		expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
		expect(() => loadConfig({ [name]: value })).toThrow(message);
	});

	it('refuses an idle timeout longer than the absolute one', () => {
		expect(() => loadConfig({ SESSION_IDLE_TIMEOUT_MINUTES: '600', SESSION_ABSOLUTE_TIMEOUT_HOURS: '1' })).toThrow(/must not exceed/);
	});

	it('reads the origin and extra allowed origins as origins', () => {
		const c = loadConfig({
			ORIGIN: 'https://warroom.example.com/some/path',
			WARROOM_ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080'
		});
		expect(c.origin).toBe('https://warroom.example.com');
		expect(c.allowedOrigins).toEqual(['https://a.example', 'http://b.example:8080']);
	});
});
