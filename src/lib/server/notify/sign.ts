/**
 * Request signatures. Each service defines its own; getting one byte wrong means every message is
 * rejected, so each function is tested against values computed independently.
 */
import { createHmac } from 'node:crypto';

/** Generic webhook: `sha256=<hex HMAC-SHA256 of the raw body, keyed with the channel secret>`. */
export function webhookSignature(secret: string, rawBody: string): string {
	return 'sha256=' + createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex');
}

/**
 * DingTalk 钉钉 robot "加签": HMAC-SHA256 keyed with the secret over `timestamp + "\n" + secret`,
 * base64, then URL-encoded as a query value. `timestampMs` is in milliseconds; DingTalk refuses
 * timestamps more than an hour off, which is why the signature is made at each attempt.
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
	const b64 = createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
	return encodeURIComponent(b64);
}

/**
 * Feishu 飞书 custom bot "签名校验": the key is `timestamp + "\n" + secret` and the message is
 * empty (the reverse of DingTalk), base64, sent in the JSON body. `timestampS` is in seconds.
 */
export function feishuSign(secret: string, timestampS: number): string {
	return createHmac('sha256', `${timestampS}\n${secret}`).update('').digest('base64');
}
