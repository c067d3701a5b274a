/**
 * The timestamp marker: `WRMK` + 12 hex digits of the send time in µs of this process's
 * `performance.now()` clock (readers are in the same process) + 4 hex digits of the sender's index.
 * ASCII, so it survives being a Yjs string or a JSON awareness field unchanged, and a reader finds it
 * with `Buffer.indexOf`, without decoding.
 */
export const MARKER_TAG = Buffer.from('WRMK', 'latin1');
export const MARKER_LENGTH = 20;

export function marker(sender: number, nowMs = performance.now()): string {
	return (
		'WRMK' +
		Math.floor(nowMs * 1000)
			.toString(16)
			.padStart(12, '0') +
		(sender & 0xffff).toString(16).padStart(4, '0')
	);
}

/** Calls `found(sentAtMs, sender)` for every marker in `buf` from `from` on; returns how many. */
export function scanMarkers(buf: Buffer, from: number, found: (sentAtMs: number, sender: number) => void): number {
	let n = 0;
	let i = buf.indexOf(MARKER_TAG, from);
	while (i >= 0 && i + MARKER_LENGTH <= buf.length) {
		const us = parseInt(buf.toString('latin1', i + 4, i + 16), 16);
		const sender = parseInt(buf.toString('latin1', i + 16, i + 20), 16);
		if (Number.isFinite(us) && Number.isFinite(sender)) {
			found(us / 1000, sender);
			n++;
		}
		i = buf.indexOf(MARKER_TAG, i + MARKER_LENGTH);
	}
	return n;
}
