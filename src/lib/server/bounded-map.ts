/**
 * Short-lived caches kept to a bound: an entry is (re)inserted last, so a Map's insertion order is the
 * order of age, and while the map is full its oldest entries go first — with one time-to-live for all
 * entries, the expired ones before any that still count.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
	map.delete(key);
	while (map.size >= max) {
		const oldest = map.keys().next();
		if (oldest.done) break;
		map.delete(oldest.value);
	}
	map.set(key, value);
}
