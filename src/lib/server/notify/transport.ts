/**
 * The two ways a message leaves the process: an HTTP POST and an SMTP conversation. Both give
 * back what the receiver said (status code and text) or why there was no answer, never throw.
 */
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
		if (error.name === 'TimeoutError') return 'timed out';
		const cause = (error as Error & { cause?: unknown }).cause;
		const code = cause && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : undefined;
		return code ? `${error.message} (${code})` : error.message;
	}
	return String(error);
}

export async function postHttp(req: HttpRequestSpec, timeoutMs: number): Promise<TransportResult> {
	try {
		const res = await fetch(req.url, {
			method: 'POST',
			headers: { 'user-agent': 'Warroom-Notify/1', ...req.headers },
			body: req.body,
			redirect: 'manual',
			signal: AbortSignal.timeout(timeoutMs)
		});
		// The body read is bounded by the same timeout: a receiver that trickles must not hold a worker.
		const text = await res.text();
		return { statusCode: res.status, response: clip(text) };
	} catch (error) {
		return { statusCode: null, response: null, error: describe(error) };
	}
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
		return { statusCode: typeof e.responseCode === 'number' ? e.responseCode : null, response: e.response ? clip(e.response) : null, error: describe(error) };
	} finally {
		transport.close();
	}
}
