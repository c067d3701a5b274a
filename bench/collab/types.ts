/**
 * The contract between the collaboration benchmark's parts (issue 9): the harness starts a target
 * (A raw relay, B stock y-websocket server, C Hocuspocus, D ours) on loopback and hands scenarios a
 * `RunningTarget`; each scenario measures and returns rows for its Markdown table.
 */
export type TargetName = 'raw' | 'stock' | 'hocuspocus' | 'ours';

/** What a target's server says about itself: its rooms and sockets (and ours, its commits). */
export interface TargetStats {
	/** Rooms (documents) held in memory now. */
	rooms: number;
	/** Open sockets. */
	connections: number;
	/** Ours only: commits and log rows written since start (the persistence scenario's counters). */
	commits?: number;
	rows?: number;
}

/** A target process's memory after a forced full garbage collection, in bytes. */
export interface TargetMemory {
	rss: number;
	/** V8 heap in use, and memory outside it held by JS objects (Buffers, ArrayBuffers). */
	heapUsed: number;
	external: number;
	/** What V8 has committed to its young generation (new space), in use or not; part of the RSS. */
	young: number;
}

/** CPU time a target's server side has run so far, in ms (`RunningTarget.cpu`). */
export interface CpuTimes {
	/** The target process's main thread: the event loop. */
	main: number;
	/** Its other threads: V8's workers (concurrent compilation, garbage collection) and libuv's pool. */
	threads: number;
	/** Ours: every process of its PostgreSQL server (pinned to the same CPU); 0 for the others. */
	database: number;
}

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
	/**
	 * Room and socket counts from the server itself: ours from `/api/health` (`collabStats`, shown to a
	 * loopback caller without proxy headers), the others from a bench-only `/bench-stats` route their
	 * launcher script adds. Rejects when the server gives no counts: a silent "unknown" would hide it.
	 */
	stats(): Promise<TargetStats>;
	/**
	 * How long the target keeps what an upgrade looked up (ours: validated sessions and room rules); 0
	 * for targets that look nothing up. A storm that stands for a reconnect after a blip (sessions nobody
	 * has presented for a while) starts at least this long after the previous one.
	 */
	upgradeCacheMs: number;
	/** When the target frees a room after its last client left (ms; 0 = at once, Infinity = never) and why. */
	roomRelease: { afterMs: number; note: string };
	/**
	 * Memory after two full garbage collections, forced in the server by the preloaded
	 * `targets/gc-hook.mjs` (SIGUSR2; every target runs with `--expose-gc`).
	 */
	memory(): Promise<TargetMemory>;
	/** Resident set size of the server process, in bytes. */
	rssBytes(): Promise<number>;
	/**
	 * CPU time the server side has used so far, in ms: the target process's main thread, its other
	 * threads and, for ours, every process of its PostgreSQL server (pinned to the server's CPU with it,
	 * so part of what a join costs there). Read before and after a point; the difference is that point's
	 * server work.
	 */
	cpu(): Promise<CpuTimes>;
	stop(): Promise<void>;
}

export interface TargetOptions {
	/** CPU the server is pinned to (taskset -c); the generator runs on the other one. */
	cpu: number;
	/** A quick run: ours logs in fewer users (its points need fewer sockets at once). */
	quick: boolean;
	/** The run's log (ours says how long seeding, start-up and logins took). */
	log?(message: string): void;
}

export interface ScenarioContext {
	quick: boolean;
	/** Repetition index (0-based); targets are interleaved within a repetition. */
	rep: number;
	log(message: string): void;
	/**
	 * Records a correctness check (clients converged, documents complete, writes acknowledged): the
	 * results list them under the tables, and a failed one makes the run exit with status 1.
	 */
	check(what: string, ok: boolean, detail: string): void;
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
	/** The measurement ended before the event happened: the true value is at or above `value` (shown as `≥ value`): also a ladder held at its top. */
	atLeast?: boolean;
	/** No ratio columns for this (row, measure): near-zero or signed values make them meaningless. */
	noRatio?: boolean;
	note?: string;
}
