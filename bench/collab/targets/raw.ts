/** Target A: the raw `ws` relay (raw-relay-server.ts), the physical limit of the machine. */
import type { RunningTarget, TargetOptions } from '../types';
import { startSimple } from './simple';

export const start = (opts: TargetOptions): Promise<RunningTarget> => startSimple('raw', 'raw-relay-server.ts', opts);
