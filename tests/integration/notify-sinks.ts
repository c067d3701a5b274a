/**
 * Local receivers for the notification tests: an HTTP sink (robots, webhooks) and a minimal SMTP
 * sink, both on 127.0.0.1 port 0. They keep the raw bytes so tests can check exactly what left.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SinkRequest {
	method: string;
	/** Path and query as received. */
	url: string;
	headers: http.IncomingHttpHeaders;
	raw: Buffer;
	body: string;
	at: number;
}

export type Responder = (req: SinkRequest) => { status: number; body?: string; contentType?: string } | 'hang';

export interface HttpSink {
	base: string;
	requests: SinkRequest[];
	/** Replace how the sink answers (default: 200 with an empty JSON object). */
	respond(fn: Responder): void;
	/** Resolves once `n` requests have arrived (or rejects after `timeoutMs`). */
	waitFor(n: number, timeoutMs?: number): Promise<SinkRequest[]>;
	close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
	const requests: SinkRequest[] = [];
	let responder: Responder = () => ({ status: 200, body: '{}' });
	const hanging = new Set<http.ServerResponse>();
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const raw = Buffer.concat(chunks);
			const entry: SinkRequest = {
				method: req.method ?? '',
				url: req.url ?? '',
				headers: req.headers,
				raw,
				body: raw.toString('utf8'),
				at: Date.now()
			};
			requests.push(entry);
			const answer = responder(entry);
			if (answer === 'hang') {
				hanging.add(res);
				return;
			}
			res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json' });
			res.end(answer.body ?? '');
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		base: `http://127.0.0.1:${port}`,
		requests,
		respond(fn) {
			responder = fn;
		},
		async waitFor(n, timeoutMs = 5_000) {
			const until = Date.now() + timeoutMs;
			while (requests.length < n) {
				if (Date.now() > until) throw new Error(`HTTP sink: expected ${n} requests, got ${requests.length}`);
				await new Promise((r) => setTimeout(r, 10));
			}
			return requests;
		},
		async close() {
			for (const res of hanging) res.destroy();
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}

export interface SmtpMessage {
	from: string;
	to: string[];
	/** The DATA section as received, dot-unstuffed, without the final ".". */
	data: string;
}

export interface SmtpSink {
	host: string;
	port: number;
	messages: SmtpMessage[];
	/** The reply to DATA's end (default 250). */
	reply(line: string): void;
	close(): Promise<void>;
}

/** Just enough of RFC 5321 for nodemailer without TLS: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. */
export async function startSmtpSink(): Promise<SmtpSink> {
	const messages: SmtpMessage[] = [];
	let dataReply = '250 2.0.0 OK queued as sink';
	const sockets = new Set<net.Socket>();
	const server = net.createServer((socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.setEncoding('utf8');
		let buffer = '';
		let inData = false;
		let current: SmtpMessage = { from: '', to: [], data: '' };
		const send = (line: string) => socket.write(line + '\r\n');
		send('220 sink.test ESMTP ready');
		socket.on('data', (chunk: string) => {
			buffer += chunk;
			for (;;) {
				if (inData) {
					const end = buffer.indexOf('\r\n.\r\n');
					if (end < 0) return;
					const body = buffer.slice(0, end);
					buffer = buffer.slice(end + 5);
					current.data = body.replace(/^\.\./gm, '.');
					messages.push(current);
					current = { from: '', to: [], data: '' };
					inData = false;
					send(dataReply);
					continue;
				}
				const nl = buffer.indexOf('\r\n');
				if (nl < 0) return;
				const line = buffer.slice(0, nl);
				buffer = buffer.slice(nl + 2);
				const verb = line.slice(0, 4).toUpperCase();
				if (verb === 'EHLO') {
					send('250-sink.test');
					send('250-8BITMIME');
					send('250 SMTPUTF8');
				} else if (verb === 'HELO') send('250 sink.test');
				else if (verb === 'MAIL') {
					current.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
					send('250 2.1.0 OK');
				} else if (verb === 'RCPT') {
					current.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
					send('250 2.1.5 OK');
				} else if (verb === 'DATA') {
					inData = true;
					send('354 End data with <CR><LF>.<CR><LF>');
				} else if (verb === 'RSET' || verb === 'NOOP') send('250 OK');
				else if (verb === 'QUIT') {
					send('221 Bye');
					socket.end();
				} else send('502 Command not implemented');
			}
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		host: '127.0.0.1',
		port,
		messages,
		reply(line) {
			dataReply = line;
		},
		async close() {
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}

/** Decodes RFC 2047 encoded words (=?UTF-8?B?…?= / Q) in a header, joining adjacent ones. */
export function decodeHeader(value: string): string {
	const unfolded = value.replace(/\r\n[ \t]+/g, ' ');
	const joined = unfolded.replace(/\?=\s+=\?/g, '?==?');
	const bytes: Buffer[] = [];
	let out = '';
	let last = 0;
	const re = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
	let m: RegExpExecArray | null;
	const flush = () => {
		if (bytes.length) out += Buffer.concat(bytes.splice(0)).toString('utf8');
	};
	while ((m = re.exec(joined))) {
		if (m.index > last) {
			flush();
			out += joined.slice(last, m.index);
		}
		const data = m[3]!;
		bytes.push(
			m[2]!.toUpperCase() === 'B'
				? Buffer.from(data, 'base64')
				: Buffer.from(
						data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_s, h: string) => String.fromCharCode(parseInt(h, 16))),
						'latin1'
					)
		);
		last = re.lastIndex;
	}
	flush();
	return out + joined.slice(last);
}

/** Splits a single-part message into headers (lower-cased names) and the decoded text body. */
export function parseMail(data: string): { headers: Record<string, string>; text: string } {
	const split = data.indexOf('\r\n\r\n');
	const head = data.slice(0, split).replace(/\r\n[ \t]+/g, (s) => s);
	const headers: Record<string, string> = {};
	for (const line of head.split(/\r\n(?![ \t])/)) {
		const colon = line.indexOf(':');
		if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
	}
	const rawBody = data.slice(split + 4);
	const cte = (headers['content-transfer-encoding'] ?? '').toLowerCase();
	const text =
		cte === 'base64'
			? Buffer.from(rawBody.replace(/\s+/g, ''), 'base64').toString('utf8')
			: cte === 'quoted-printable'
				? Buffer.from(
						rawBody.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_s, h: string) => String.fromCharCode(parseInt(h, 16))),
						'latin1'
					).toString('utf8')
				: rawBody;
	return { headers, text };
}
