/**
 * The two ways a message leaves the process: an HTTP POST and an SMTP conversation. Both give
 * back what the receiver said (status code and text) or why there was no answer, never throw.
 */
import http from 'node:http';
import https from 'node:https';
import nodemailer from 'nodemailer';
import type { EmailChannelConfig } from './channels';
import type { EmailSpec, HttpRequestSpec } from './format';

/** What is kept of a receiver's answer in the delivery log. */
export const RESPONSE_LOG_MAX_CHARS = 2000;

export interface TransportResult {
	/** HTTP status, or the SMTP reply code; null when no answer came (refused, timeout, DNS). */
	statusCode: number | null;
	response: string | null;
	/** Why there was no usable answer. */
	error?: string;
}

function clip(s: string): string {
	return s.length > RESPONSE_LOG_MAX_CHARS ? s.slice(0, RESPONSE_LOG_MAX_CHARS) + '…' : s;
}

function describe(error: unknown): string {
	if (error instanceof Error) {
		const code = (error as NodeJS.ErrnoException).code;
		return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
	}
	return String(error);
}

/** Bytes of an answer read at most; the log keeps fewer, this only bounds memory. */
const RESPONSE_READ_MAX_BYTES = 64 * 1024;

/**
 * One POST with a hard deadline over the whole exchange (connect, send, answer). node:http rather
 * than fetch: fetch refuses the "bad ports" of the browser world (25, 587, 6000, 10080, …), and
 * in-house webhook receivers do listen on such ports.
 */
export function postHttp(req: HttpRequestSpec, timeoutMs: number): Promise<TransportResult> {
	return new Promise((resolve) => {
		let url: URL;
		try {
			url = new URL(req.url);
		} catch {
			resolve({ statusCode: null, response: null, error: 'the address is not a valid URL' });
			return;
		}
		let settled = false;
		const finish = (r: TransportResult) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			resolve(r);
		};
		const body = Buffer.from(req.body, 'utf8');
		const client = url.protocol === 'https:' ? https : http;
		const request = client.request(
			url,
			{ method: 'POST', headers: { 'user-agent': 'Warroom-Notify/1', ...req.headers, 'content-length': String(body.length) } },
			(res) => {
				const chunks: Buffer[] = [];
				let size = 0;
				res.on('data', (c: Buffer) => {
					if (size < RESPONSE_READ_MAX_BYTES) chunks.push(c);
					size += c.length;
				});
				res.on('end', () => finish({ statusCode: res.statusCode ?? null, response: clip(Buffer.concat(chunks).toString('utf8')) }));
				res.on('error', (e) => finish({ statusCode: res.statusCode ?? null, response: null, error: describe(e) }));
			}
		);
		const timer = setTimeout(() => {
			finish({ statusCode: null, response: null, error: 'timed out' });
			request.destroy();
		}, timeoutMs);
		request.on('error', (e) => finish({ statusCode: null, response: null, error: describe(e) }));
		request.end(body);
	});
}

export async function sendSmtp(config: EmailChannelConfig, mail: EmailSpec, timeoutMs: number): Promise<TransportResult> {
	const transport = nodemailer.createTransport({
		host: config.host,
		port: config.port,
		secure: config.security === 'tls',
		requireTLS: config.security === 'starttls',
		ignoreTLS: config.security === 'none',
		auth: config.username ? { user: config.username, pass: config.password ?? '' } : undefined,
		connectionTimeout: timeoutMs,
		greetingTimeout: timeoutMs,
		socketTimeout: timeoutMs
	});
	try {
		const info = await transport.sendMail({
			from: mail.from,
			to: mail.to,
			subject: mail.subject,
			text: mail.text,
			// Chinese text in quoted-printable triples in size; base64 is smaller and as safe.
			textEncoding: 'base64'
		});
		const response = typeof info.response === 'string' ? info.response : '';
		const code = Number.parseInt(response.slice(0, 3), 10);
		return { statusCode: Number.isFinite(code) ? code : 250, response: clip(response) };
	} catch (error) {
		const e = error as Error & { responseCode?: number; response?: string };
		return {
			statusCode: typeof e.responseCode === 'number' ? e.responseCode : null,
			response: e.response ? clip(e.response) : null,
			error: describe(error)
		};
	} finally {
		transport.close();
	}
}
