/**
 * A quiet instrument: the generator's young generation is emptied between measurements, so a timed
 * window does not pay for garbage the generator made before it. The cold-load scenario holds a whole
 * editing history; a scavenge that fell inside a client's decode of the document timed the generator,
 * not the target (scavenges of 20–30 ms on a 2-core EPYC, stop 15). Only the generator is collected: the
 * target's collections are part of what is measured.
 *
 * A minor collection (scavenge), not a full one: a forced full collection also throws away the
 * generator's compiled code, and the next decode ran 10× slower. `--expose-gc` is switched on at run
 * time (V8 reads the flag when the `gc` function is asked for, in a new context), so the generator needs
 * no special command line.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = (options?: { type: 'minor' | 'major' }) => void;
let gc: Gc | undefined;

function collector(): Gc {
	if (!gc) {
		v8.setFlagsFromString('--expose-gc');
		gc = vm.runInNewContext('gc') as Gc;
	}
	return gc;
}

/** Empties the generator's young generation (a synchronous scavenge). Call it outside any timed window. */
export function collectGenerator(): void {
	collector()({ type: 'minor' });
}

/**
 * A full collection of the generator, for after a scenario let go of a large structure (the cold-load
 * history): the next scenario's generator then neither carries it nor meets its collection in a timed
 * window. Never between measurements of one scenario (see above).
 */
export function collectGeneratorFully(): void {
	collector()({ type: 'major' });
}
