import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MAX_WAIT_MS, batchLoader } from './batch';

/** A load function whose batches answer when the test says so. */
function controlled() {
	const batches: { keys: string[]; answer: () => void; fail: (e: Error) => void }[] = [];
	const load = (keys: readonly string[]) =>
		new Promise<string[]>((resolve, reject) => {
			batches.push({ keys: [...keys], answer: () => resolve(keys.map((k) => k.toUpperCase())), fail: reject });
		});
	return { batches, load };
}

describe('batchLoader', () => {
	it('sends a lone question at once and answers each key', async () => {
		const { batches, load } = controlled();
		const loader = batchLoader(load);
		const a = loader.load('a');
		await tick();
		expect(batches.map((b) => b.keys)).toEqual([['a']]);
		batches[0]!.answer();
		expect(await a).toBe('A');
	});

	it('puts what is asked in the same tick into one batch', async () => {
		const { batches, load } = controlled();
		const loader = batchLoader(load);
		const all = Promise.all(['a', 'b', 'c'].map((k) => loader.load(k)));
		await tick();
		expect(batches.map((b) => b.keys)).toEqual([['a', 'b', 'c']]);
		batches[0]!.answer();
		expect(await all).toEqual(['A', 'B', 'C']);
	});

	it('holds what is asked over several ticks while a batch is in flight, then sends it as one batch', async () => {
		const { batches, load } = controlled();
		const loader = batchLoader(load);
		const first = loader.load('a');
		await tick();
		const later: Promise<string>[] = [];
		for (const k of ['b', 'c', 'd']) {
			later.push(loader.load(k));
			await tick();
		}
		expect(batches.map((b) => b.keys)).toEqual([['a']]);
		batches[0]!.answer();
		await first;
		await tick();
		expect(batches.map((b) => b.keys)).toEqual([['a'], ['b', 'c', 'd']]);
		batches[1]!.answer();
		expect(await Promise.all(later)).toEqual(['B', 'C', 'D']);
	});

	it('a failed batch fails only its own questions and frees the way for the next', async () => {
		const { batches, load } = controlled();
		const loader = batchLoader(load);
		const first = loader.load('a');
		await tick();
		const second = loader.load('b');
		await tick();
		batches[0]!.fail(new Error('connection lost'));
		await expect(first).rejects.toThrow('connection lost');
		await tick();
		expect(batches.map((b) => b.keys)).toEqual([['a'], ['b']]);
		batches[1]!.answer();
		expect(await second).toBe('B');
	});

	it('a load that throws at once frees the way too', async () => {
		let calls = 0;
		const loader = batchLoader(async (keys: readonly string[]) => {
			calls++;
			if (calls === 1) throw new Error('no connection');
			return keys.map((k) => k.toUpperCase());
		});
		await expect(loader.load('a')).rejects.toThrow('no connection');
		expect(await loader.load('b')).toBe('B');
	});

	it('does not wait longer than MAX_WAIT_MS for a stuck batch', async () => {
		const { batches, load } = controlled();
		const loader = batchLoader(load);
		void loader.load('stuck');
		await tick();
		const started = performance.now();
		const second = loader.load('b');
		while (batches.length < 2 && performance.now() - started < 2000) await new Promise((r) => setTimeout(r, 2));
		const waited = performance.now() - started;
		expect(batches.map((b) => b.keys)).toEqual([['stuck'], ['b']]);
		expect(waited).toBeGreaterThanOrEqual(MAX_WAIT_MS - 2);
		expect(waited).toBeLessThan(MAX_WAIT_MS + 500);
		batches[1]!.answer();
		expect(await second).toBe('B');
		batches[0]!.answer();
	});

	it('takes questions that are objects (keyed by the key function) in one batch', async () => {
		const seen: string[][] = [];
		const loader = batchLoader(
			async (qs: readonly { id: string }[]) => {
				seen.push(qs.map((q) => q.id));
				return qs.map((q) => q.id);
			},
			(q) => q.id
		);
		const answers = await Promise.all([loader.load({ id: 'x' }), loader.load({ id: 'x' }), loader.load({ id: 'y' })]);
		expect(answers).toEqual(['x', 'x', 'y']);
		expect(seen).toEqual([['x', 'x', 'y']]);
	});
});
