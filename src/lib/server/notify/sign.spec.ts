import { describe, expect, it } from 'vitest';
import { dingtalkSign, feishuSign, webhookSignature } from './sign';

// Reference values computed independently with Python's hmac/hashlib/base64/urllib
// (the vendors' own sample code), so a mistake here cannot cancel out against the implementation.
const SECRET = 'SEC0123456789abcdef';

describe('signatures', () => {
	it('signs a DingTalk request over "timestamp\\nsecret" with the secret as key, base64 then URL-encoded', () => {
		expect(dingtalkSign(SECRET, 1763884800000)).toBe('FXjxfbSbVnwHyn202LGZbOREaE3xxSpj%2FEsoMXqp81Y%3D');
	});

	it('signs a Feishu request with "timestamp\\nsecret" as the key over an empty message, base64 and not URL-encoded', () => {
		expect(feishuSign(SECRET, 1763884800)).toBe('pqiMS8v7PmPG+eJi5+lTZouuyCfYYjesRXtxqm5FkLA=');
	});

	it('signs the generic webhook body as sha256=<hex HMAC-SHA256> over its UTF-8 bytes', () => {
		const body = '{"event":"incident.declared","title":"核心系统故障"}';
		expect(webhookSignature('whsec-0123456789abcdef', body)).toBe(
			'sha256=f96eeeb7241df85f941eb3ffa9346f45c864d080c76e3b72e30e6552b19b3679'
		);
	});

	it('gives a different DingTalk signature for a different timestamp (so each attempt is signed afresh)', () => {
		expect(dingtalkSign(SECRET, 1763884800000)).not.toBe(dingtalkSign(SECRET, 1763884800001));
	});
});
