/**
 * The contract between the collaboration benchmark's parts (issue 9): the harness starts a target
 * (A raw relay, B stock y-websocket server, C Hocuspocus, D ours) on loopback and hands scenarios a
 * `RunningTarget`; each scenario measures and returns rows for its Markdown table.
 */
export type TargetName = 'raw' | 'stock' | 'hocuspocus' | 'ours';

export interface RunningTarget {
	name: TargetName;
	/** The server's process id (for RSS sampling and taskset). */
	pid: number;
	/** The WebSocket URL of one room; a stock y-websocket client connects to it as is. */
	wsUrl(room: string): string;
	/** Headers every client sends on the upgrade (ours: the session cookie and Origin). */
	headers(): Record<string, string>;
	/**
	 * Headers for the i-th client, when they differ per client (ours: clients are spread over several
	 * users, since ours allows 20 sockets per user). Absent: every client sends `headers()`.
	 */
	clientHeaders?(i: number): Record<string, string>;
	/** Make `n` rooms that clients may join and return their names (ours: real incidents). */
	rooms(n: number): Promise<string[]>;
	/** Whether the target persists documents (only ours does); scenarios that need it skip the others. */
	persistent: boolean;
	/** Resident set size of the server process, in bytes. */
	rssBytes(): Promise<number>;
	stop(): Promise<void>;
}

export interface TargetOptions {
	/** CPU the server is pinned to (taskset -c); the generator runs on the other one. */
	cpu: number;
}

export interface ScenarioContext {
	quick: boolean;
	/** Repetition index (0-based); targets are interleaved within a repetition. */
	rep: number;
	log(message: string): void;
}

/** One measured point; `value` is the figure the table reports (median over repetitions). */
export interface Point {
	scenario: string;
	/** e.g. "N = 100"; rows of a table. */
	row: string;
	/** e.g. "p99 ms"; the measure the ratios are taken on. */
	measure: string;
	target: TargetName;
	value: number;
	/** Lower is better (latency, bytes) or higher is better (throughput, N). */
	better: 'lower' | 'higher';
	/** The generator lagged (event loop delay beyond the bound): the point is discarded. */
	discarded?: boolean;
	note?: string;
}
