/** Target C: Hocuspocus 3.4.4 (hocuspocus-server.ts), the newest that runs on Node 20. */
import type { RunningTarget, TargetOptions } from '../types';
import { startSimple } from './simple';

export const start = (opts: TargetOptions): Promise<RunningTarget> => startSimple('hocuspocus', 'hocuspocus-server.ts', opts);
