/**
 * A dedicated PostgreSQL connection that LISTENs on one channel (a pooled connection cannot: LISTEN
 * belongs to a session). If the connection drops it reconnects with exponential back-off and reports
 * the reconnect, because notifications sent while it was away are lost and the owner must catch up.
 */
import pg from 'pg';
import { log } from '../log';

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 15_000;

export interface PgListenerOptions {
	connectionString: string;
	channel: string;
	onNotify(payload: string): void;
	/** Called after every successful re-connection (not the first one). */
	onReconnect(): void;
	/** Who is listening, for the log ("collab", "events"). */
	label: string;
}

export class PgListener {
	private client: pg.Client | undefined;
	private stopped = false;
	private attempts = 0;
	private connectedOnce = false;
	private retryTimer: NodeJS.Timeout | undefined;

	constructor(private readonly opts: PgListenerOptions) {
		if (!/^[a-z_][a-z0-9_]*$/.test(opts.channel))
			throw new Error(`PgListener: channel must be a plain SQL identifier (got "${opts.channel}")`);
	}

	/** Resolves once the first LISTEN is active; rejects if that first connection fails. */
	async start(): Promise<void> {
		await this.connect();
	}

	private async connect(): Promise<void> {
		const client = new pg.Client({ connectionString: this.opts.connectionString });
		client.on('notification', (msg) => {
			if (msg.channel !== this.opts.channel || msg.payload === undefined) return;
			try {
				this.opts.onNotify(msg.payload);
			} catch (error) {
				log.error(`${this.opts.label}: notification handler failed`, { error, channel: msg.channel });
			}
		});
		client.on('error', (error) => {
			log.warn(`${this.opts.label}: LISTEN connection error`, { error: error.message });
			this.drop(client);
		});
		client.on('end', () => this.drop(client));
		await client.connect();
		await client.query(`listen ${this.opts.channel}`);
		if (this.stopped) {
			await client.end().catch(() => undefined);
			return;
		}
		this.client = client;
		this.attempts = 0;
		if (this.connectedOnce) {
			log.info(`${this.opts.label}: LISTEN connection restored`);
			this.opts.onReconnect();
		}
		this.connectedOnce = true;
	}

	private drop(client: pg.Client): void {
		if (this.client !== client) return;
		this.client = undefined;
		client.removeAllListeners('notification');
		// An errored client may still hold a socket; end it, ignoring the error it is already reporting.
		client.end().catch(() => undefined);
		this.scheduleReconnect();
	}

	private scheduleReconnect(): void {
		if (this.stopped || this.retryTimer) return;
		const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts);
		this.attempts++;
		this.retryTimer = setTimeout(() => {
			this.retryTimer = undefined;
			this.connect().catch((error: unknown) => {
				log.warn(`${this.opts.label}: LISTEN reconnect failed`, { error, attempt: this.attempts });
				this.scheduleReconnect();
			});
		}, delay);
	}

	async stop(): Promise<void> {
		this.stopped = true;
		if (this.retryTimer) clearTimeout(this.retryTimer);
		const client = this.client;
		this.client = undefined;
		if (client) {
			client.removeAllListeners();
			// Keep an error listener: a late socket error on a closing client would otherwise be thrown.
			client.on('error', () => undefined);
			await client.end().catch(() => undefined);
		}
	}
}
