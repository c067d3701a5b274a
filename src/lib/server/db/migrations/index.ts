import type { Migration } from 'kysely/migration';
import * as m20261123T1400 from './20261123T1400-foundation';
import * as m20261123T1500 from './20261123T1500-collab';
import * as m20261123T1510 from './20261123T1510-notifications';
import * as m20261123T1520 from './20261123T1520-incidents';
import * as m20261123T1530 from './20261123T1530-playbooks';
import * as m20261123T1540 from './20261123T1540-escalation';
import * as m20261123T1550 from './20261123T1550-board';
import * as m20261123T1600 from './20261123T1600-reviews';

/**
 * Every migration, by dated name. An explicit list (not a directory scan) because the app runs from
 * a bundle where the migration files no longer exist as files. Names sort in the order they run.
 */
export const migrations: Record<string, Migration> = {
	'20261123T1400-foundation': m20261123T1400,
	'20261123T1500-collab': m20261123T1500,
	'20261123T1510-notifications': m20261123T1510,
	'20261123T1520-incidents': m20261123T1520,
	'20261123T1530-playbooks': m20261123T1530,
	'20261123T1540-escalation': m20261123T1540,
	'20261123T1550-board': m20261123T1550,
	'20261123T1600-reviews': m20261123T1600
};
