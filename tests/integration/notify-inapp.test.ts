/**
 * The in-app notification centre: recipients, unread counts, marking read, and the live SSE stream
 * including resuming after a dropped connection (Last-Event-ID).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type Actor, type NotifyInput } from '../../src/lib/server/context';
import {
	listNotifications,
	markAllRead,
	markRead,
	openStream,
	send,
	unreadCount
} from '../../src/lib/server/services/notification.service';
import { EventBus } from '../../src/lib/server/events';
import { createTestContext, dbLabel, makeUser, type TestContext } from '../helpers/context';

let ctx: TestContext;
let alice: { id: string; actor: Actor };
let bob: { id: string; actor: Actor };
beforeAll(async () => {
	ctx = await createTestContext();
	alice = await makeUser(ctx, { role: 'responder' });
	bob = await makeUser(ctx, { role: 'manager' });
});
afterAll(async () => {
	await ctx.close();
});

let n = 0;
const note = (recipients: string[], over: Partial<NotifyInput> = {}): NotifyInput => {
	n++;
	return {
		event: 'member.paged',
		incidentId: 'inc-7',
		recipients,
		title: { 'zh-CN': `您被呼叫参与处置 #${n}`, en: `You are paged #${n}` },
		body: { 'zh-CN': '请确认。', en: 'Please acknowledge.' },
		link: '/incidents/inc-7',
		...over
	};
};

interface Frame {
	id?: string;
	event?: string;
	data?: unknown;
}

/** Reads SSE frames from the stream's bytes, as a browser's EventSource would. */
function sseReader(stream: ReadableStream<Uint8Array>) {
	const reader = stream.getReader();
	const decoder = new TextDecoder();
	let buffer = '';
	const frames: Frame[] = [];
	async function next(predicate: (f: Frame) => boolean, timeoutMs = 3_000): Promise<Frame> {
		const until = Date.now() + timeoutMs;
		for (;;) {
			const i = frames.findIndex(predicate);
			if (i >= 0) return frames.splice(i, 1)[0]!;
			const left = until - Date.now();
			if (left <= 0) throw new Error('no matching SSE frame in time');
			const chunk = await Promise.race([reader.read(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), left))]);
			if (chunk === 'timeout') continue;
			if (chunk.done) throw new Error('stream ended');
			buffer += decoder.decode(chunk.value, { stream: true });
			let end: number;
			while ((end = buffer.indexOf('\n\n')) >= 0) {
				const block = buffer.slice(0, end);
				buffer = buffer.slice(end + 2);
				const f: Frame = {};
				for (const line of block.split('\n')) {
					if (line.startsWith('id: ')) f.id = line.slice(4);
					else if (line.startsWith('event: ')) f.event = line.slice(7);
					else if (line.startsWith('data: ')) f.data = JSON.parse(line.slice(6));
				}
				if (f.event) frames.push(f);
			}
		}
	}
	return {
		next,
		notification: () => next((f) => f.event === 'notification'),
		pending: () => frames,
		cancel: () => reader.cancel()
	};
}

function stream(actor: Actor, lastEventId?: string) {
	const r = openStream(ctx, actor, { lastEventId, heartbeatMs: 60_000 });
	if (!r.ok) throw new Error(r.error.message);
	return sseReader(r.value);
}

describe(`in-app notification centre (${dbLabel})`, () => {
	it('gives each recipient a notification and nobody else', async () => {
		const before = await unreadCount(ctx, bob.actor);
		const { notifications } = await send(ctx, note([alice.id]));
		expect(notifications.map((x) => x.user_id)).toEqual([alice.id]);
		const list = await listNotifications(ctx, alice.actor);
		if (!list.ok) throw new Error(list.error.message);
		expect(list.value.items[0]).toMatchObject({
			title: { 'zh-CN': `您被呼叫参与处置 #${n}`, en: `You are paged #${n}` },
			link: '/incidents/inc-7',
			readAt: null
		});
		expect(await unreadCount(ctx, bob.actor)).toBe(before);
	});

	it('skips unknown recipients without failing the others', async () => {
		const { notifications } = await send(ctx, note([alice.id, 'no-such-user', alice.id]));
		expect(notifications.map((x) => x.user_id)).toEqual([alice.id]);
	});

	it('keeps a notification whose text holds a NUL or an unpaired surrogate (a caller that skipped validation), minus those', async () => {
		const { notifications } = await send(
			ctx,
			note([alice.id], {
				title: { 'zh-CN': '标题\u0000含空字符', en: 'Title \uD800 with a lone surrogate' },
				body: { 'zh-CN': '正文\u0000', en: 'Body \uDC00\u0000' }
			})
		);
		expect(notifications).toHaveLength(1);
		const [row] = notifications;
		expect([row!.title_zh, row!.title_en, row!.body_zh, row!.body_en]).toEqual([
			'标题含空字符',
			'Title \uFFFD with a lone surrogate',
			'正文',
			'Body \uFFFD'
		]);
	});

	it('counts unread, marks one and then all as read, and keeps others’ notifications out of reach', async () => {
		await markAllRead(ctx, alice.actor);
		const { notifications } = await send(ctx, note([alice.id, bob.id]));
		await send(ctx, note([alice.id]));
		expect(await unreadCount(ctx, alice.actor)).toBe(2);
		const mine = notifications.find((x) => x.user_id === alice.id)!;
		const bobs = notifications.find((x) => x.user_id === bob.id)!;

		const r = await markRead(ctx, alice.actor, mine.id);
		expect(r.ok && r.value.unread).toBe(1);
		const stolen = await markRead(ctx, alice.actor, bobs.id);
		expect(!stolen.ok && stolen.error.code).toBe('not_found');

		const all = await markAllRead(ctx, alice.actor);
		expect(all.ok && all.value.marked).toBe(1);
		expect(await unreadCount(ctx, alice.actor)).toBe(0);
		const unreadOnly = await listNotifications(ctx, alice.actor, { unreadOnly: true });
		expect(unreadOnly.ok && unreadOnly.value.items).toEqual([]);
	});

	it('refuses the centre to an actor that is not a signed-in user', async () => {
		expect(openStream(ctx, SYSTEM_ACTOR).ok).toBe(false);
		const r = await listNotifications(ctx, SYSTEM_ACTOR);
		expect(!r.ok && r.error.code).toBe('unauthenticated');
	});

	it('streams a new notification live with its id and the unread count, only to its recipient', async () => {
		await markAllRead(ctx, alice.actor);
		const a = stream(alice.actor);
		const b = stream(bob.actor);
		expect((await a.next((f) => f.event === 'unread')).data).toEqual({ unread: 0 });
		await b.next((f) => f.event === 'unread');

		const { notifications } = await send(
			ctx,
			note([alice.id], { title: { 'zh-CN': '核心银行 P1 已宣布', en: 'Core banking P1 declared' } })
		);
		const f = await a.notification();
		expect(f.id).toBe(String(notifications[0]!.seq));
		expect(f.data).toMatchObject({ id: notifications[0]!.id, title: { 'zh-CN': '核心银行 P1 已宣布' }, unread: 1 });
		await expect(b.next((x) => x.event === 'notification', 300)).rejects.toThrow('no matching SSE frame');
		await a.cancel();
		await b.cancel();
	});

	it('replays what a dropped connection missed when it resumes with Last-Event-ID, then goes on live', async () => {
		const first = stream(alice.actor);
		await first.next((f) => f.event === 'unread');
		await send(ctx, note([alice.id]));
		const seen = await first.notification();
		await first.cancel(); // the connection drops

		const missed1 = (await send(ctx, note([alice.id]))).notifications[0]!;
		const missed2 = (await send(ctx, note([alice.id]))).notifications[0]!;

		const resumed = stream(alice.actor, seen.id);
		const r1 = await resumed.notification();
		const r2 = await resumed.notification();
		expect([r1.id, r2.id]).toEqual([String(missed1.seq), String(missed2.seq)]);
		expect((r1.data as { id: string }).id).toBe(missed1.id);

		const live = (await send(ctx, note([alice.id]))).notifications[0]!;
		expect((await resumed.notification()).id).toBe(String(live.seq));
		// Nothing was sent twice, and the already-seen one was not replayed.
		expect(resumed.pending().filter((f) => f.event === 'notification')).toEqual([]);
		await resumed.cancel();
	});

	it('sends what it may not have heard of when events from other processes were lost, then goes on live', async () => {
		const live = stream(alice.actor);
		await live.next((f) => f.event === 'unread');
		await send(ctx, note([alice.id]));
		await live.notification();
		// Another process creates two; its events never arrive here (its own bus, no relay).
		const elsewhere = { ...ctx, events: new EventBus() };
		const unheard1 = (await send(elsewhere, note([alice.id]))).notifications[0]!;
		const unheard2 = (await send(elsewhere, note([alice.id]))).notifications[0]!;

		ctx.events.deliver({ type: 'events.missed' });
		const r1 = await live.notification();
		const r2 = await live.notification();
		expect([r1.id, r2.id]).toEqual([String(unheard1.seq), String(unheard2.seq)]);
		expect((r2.data as { id: string; unread: number }).id).toBe(unheard2.id);

		const after = (await send(ctx, note([alice.id]))).notifications[0]!;
		expect((await live.notification()).id).toBe(String(after.seq));
		expect(live.pending().filter((f) => f.event === 'notification')).toEqual([]);
		await live.cancel();
	});

	it('ends the stream when its signal aborts (logout, shutdown)', async () => {
		const controller = new AbortController();
		const r = openStream(ctx, alice.actor, { signal: controller.signal });
		if (!r.ok) throw new Error(r.error.message);
		const reader = r.value.getReader();
		controller.abort();
		// Reading to the end terminates (rather than waiting for the test timeout) once the stream is closed.
		let done = false;
		while (!done) done = (await reader.read()).done;
		expect(done).toBe(true);
	});
});
