/**
 * Wall-clock times typed into forms (`<input type="datetime-local">`, no zone) are in the user's
 * time zone; the database stores instants. Pure conversions both ways, DST-aware.
 */
const NAIVE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

function offsetMs(instant: number, timeZone: string): number {
	const parts = new Intl.DateTimeFormat('en-US', {
		timeZone,
		hourCycle: 'h23',
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		second: '2-digit'
	}).formatToParts(new Date(instant));
	const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
	const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
	return asUtc - Math.floor(instant / 1000) * 1000;
}

/** `2026-11-23T09:30` in `Asia/Shanghai` → the instant 01:30Z. Undefined if not such a string. */
export function zonedToInstant(naive: string, timeZone: string): Date | undefined {
	const m = NAIVE.exec(naive.trim());
	if (!m) return undefined;
	const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
	const wall = Date.UTC(y, mo - 1, d, h, mi, Number.isNaN(s) ? 0 : s);
	// Two passes: the offset at the first guess may differ across a DST change.
	let instant = wall - offsetMs(wall, timeZone);
	instant = wall - offsetMs(instant, timeZone);
	return new Date(instant);
}

/** The instant as `YYYY-MM-DDTHH:mm` wall-clock time in the zone (for datetime-local values). */
export function instantToZoned(instant: Date, timeZone: string): string {
	const shifted = new Date(instant.getTime() + offsetMs(instant.getTime(), timeZone));
	return shifted.toISOString().slice(0, 16);
}
