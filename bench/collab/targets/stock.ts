/** Target B: the stock y-websocket server, `@y/websocket-server` 0.1.1 (stock-server.ts). */
import type { RunningTarget, TargetOptions } from '../types';
import { startSimple } from './simple';

export const start = (opts: TargetOptions): Promise<RunningTarget> => startSimple('stock', 'stock-server.ts', opts);
