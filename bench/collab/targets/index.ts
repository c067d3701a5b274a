/** The four targets, in the order of the issue: A raw relay, B stock, C Hocuspocus, D ours. */
import type { RunningTarget, TargetName, TargetOptions } from '../types';
import * as hocuspocus from './hocuspocus';
import * as ours from './ours';
import * as raw from './raw';
import * as stock from './stock';

export const TARGETS: Record<TargetName, { label: string; start(opts: TargetOptions): Promise<RunningTarget> }> = {
	raw: { label: 'A raw relay', start: raw.start },
	stock: { label: 'B stock y-websocket', start: stock.start },
	hocuspocus: { label: 'C Hocuspocus', start: hocuspocus.start },
	ours: { label: 'D ours', start: ours.start }
};
export const TARGET_ORDER: TargetName[] = ['raw', 'stock', 'hocuspocus', 'ours'];

export async function disposeTargets(): Promise<void> {
	await ours.dispose();
}
