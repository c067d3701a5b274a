/**
 * The registered scenarios, run in this order. Adding one is one line: import its module and append
 * `{ name, run, targets?, title?, description?, goals? }` to the array.
 */
import type { Point, RunningTarget, ScenarioContext, TargetName } from '../types';
import type { Aggregate } from '../harness/report';
import { awareness } from './awareness';
import { board } from './board';
import { coldLoad } from './cold-load';
import { persistence } from './persistence';
import { rooms } from './rooms';
import { joinStorm } from './join-storm';
import { scribe } from './scribe';
import { writers } from './writers';

export interface Scenario {
	name: string;
	run(target: RunningTarget, ctx: ScenarioContext): Promise<Point[]>;
	/** Only these targets (default: all four). */
	targets?: TargetName[];
	/** Table heading and a sentence on what is measured (default: the name). */
	title?: string;
	description?: string;
	/** What a quick run leaves out of this scenario (printed under its table in quick results). */
	quick?: string;
	/** The goals for this scenario, checked on the aggregated table (lines under it). */
	goals?(table: Aggregate): string[];
	/** Ends the run: frees what the scenario kept across repetitions (a database of its own). */
	dispose?(): Promise<void>;
}

export const SCENARIOS: Scenario[] = [joinStorm, scribe, writers, awareness, rooms, persistence, coldLoad, board];
