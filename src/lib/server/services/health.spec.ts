import { describe, expect, it } from 'vitest';
import { isLocalOperator } from './health.service';

describe('who sees the detailed health figures', () => {
	it.each([
		['127.0.0.1', {}, true],
		['::1', {}, true],
		['::ffff:127.0.0.1', {}, true],
		['10.1.2.3', {}, false],
		['127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }, false],
		['127.0.0.1', { forwarded: 'for=203.0.113.9' }, false]
	])('%s with %j → %s', (address, headers, expected) => {
		expect(isLocalOperator(address, new Headers(headers))).toBe(expected);
	});
});
