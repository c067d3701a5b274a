/** The playbook panel's plain-data props (what a page's `load` provides). */
import type { IncidentRole } from '$lib/domain/roles';

export type Bilingual = { 'zh-CN': string; en: string };

export interface PanelSuggestion {
	id: string;
	title: Bilingual;
	category: string;
	version: number;
	restricted: boolean;
}

export interface PanelRun {
	playbookId: string;
	title: Bilingual;
	version: number;
	loadedAt: Date | string;
	/** The snapshotted version, to link to the text that was loaded. */
	versionId?: string;
	/** Phase titles, in order (without them phases are shown by id). */
	phases?: { id: string; title: Bilingual }[];
	loadedByName?: string | null;
}

export interface PanelMember {
	userId: string;
	displayName: string;
	role: IncidentRole | null;
}

export interface PanelDeviation {
	id: string;
	playbookId: string;
	stepId: string;
	stepTitle: Bilingual | null;
	kind: 'skipped' | 'late';
	reason: string;
	recordedByName: string | null;
	recordedAt: Date | string;
}

/** An action's outcome (`failForm` shape), for inline errors. */
export interface PanelForm {
	errors?: Record<string, { code: string; params?: Record<string, string | number> }>;
	code?: string;
	message?: string;
	values?: Record<string, string>;
	done?: string;
}
