/**
 * The browser side of the incident's checklist: follows `checklist` in the shared incident document
 * of an `IncidentRoom` (the page's one provider per incident) and ticks steps in it.
 *
 * Ticking writes the item and a bilingual timeline entry in one document transaction, so everyone
 * sees the tick and the entry together, and a tick made while offline is kept (IndexedDB) and sent
 * on reconnect like any other edit. Skipping is not done here: skipping a mandatory step needs a
 * reason and is recorded as a deviation, which only the server action can do.
 */
import * as Y from 'yjs';
import { checklistOf, createEntry } from '$lib/collab/incident-doc';
import type { IncidentRoom } from '$lib/collab/incident-room.svelte';
import { readChecklist, readChecklistItem, sortChecklist, type ChecklistItem } from '$lib/domain/checklist';
import { translate } from '$lib/i18n';

export class LiveChecklist {
	items = $state.raw<ChecklistItem[]>([]);
	readonly room: IncidentRoom;
	private readonly map: Y.Map<unknown>;
	private readonly onChange: () => void;

	constructor(room: IncidentRoom) {
		this.room = room;
		this.map = checklistOf(room.doc);
		this.onChange = () => {
			this.items = sortChecklist(readChecklist(this.map.toJSON()));
		};
		this.map.observeDeep(this.onChange);
		this.onChange();
	}

	/**
	 * The document has something to show: it synced with the server, or IndexedDB already held the
	 * checklist. Until then the panel shows the server-rendered checklist.
	 */
	get ready(): boolean {
		return this.room.everSynced || (this.room.localReady && this.items.length > 0);
	}

	/**
	 * Marks a step done (or open again) as `user`. Returns false when the document cannot take it (a
	 * read-only room, or the item is not in the document yet): the caller then posts the form to the
	 * server instead.
	 */
	tick(input: {
		key: string;
		done: boolean;
		user: { id: string; name: string };
		playbookTitle: { 'zh-CN': string; en: string } | null;
		locale: 'zh-CN' | 'en';
	}): boolean {
		if (this.room.readOnly) return false;
		const map = this.map.get(input.key);
		if (!(map instanceof Y.Map)) return false;
		const item = readChecklistItem(input.key, map.toJSON());
		if (!item) return false;
		if (input.done ? item.state !== 'open' : item.state === 'open') return true;
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a timestamp, never mutated
		const now = new Date();
		const params = (locale: 'zh-CN' | 'en') => ({
			actor: input.user.name,
			step: item.title[locale],
			playbook: input.playbookTitle?.[locale] ?? item.playbookId
		});
		const key = input.done ? 'run.timeline.done' : 'run.timeline.reopened';
		const i18n = { 'zh-CN': translate('zh-CN', key, params('zh-CN')), en: translate('en', key, params('en')) };
		this.room.doc.transact(() => {
			if (input.done) {
				map.set('state', 'done');
				map.set('doneBy', input.user.id);
				map.set('doneByName', input.user.name);
				map.set('doneAt', now.toISOString());
			} else {
				map.set('state', 'open');
				map.set('doneBy', null);
				map.set('doneByName', null);
				map.set('doneAt', null);
			}
			map.set('skipReason', null);
			createEntry(this.room.doc, {
				id: crypto.randomUUID(),
				at: now,
				recordedAt: now,
				kind: 'playbook',
				text: i18n[input.locale],
				author: input.user.id,
				authorName: input.user.name,
				offline: this.room.status !== 'live',
				i18n
			});
		});
		return true;
	}

	destroy(): void {
		this.map.unobserveDeep(this.onChange);
	}
}
