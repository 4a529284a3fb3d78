import type { Migration } from './migration.js';
import { migration001 } from './001-event-store-tables.js';
import { migration002 } from './002-append-batch-group-commit.js';
import { migration003 } from './003-feed-checkpoints-and-leases.js';
import { migration004 } from './004-set-based-append-batch.js';
import { migration005 } from './005-append-one.js';
import { migration006 } from './006-append-batch-advisory-fence-locks.js';
import { migration007 } from './007-partition-leases.js';
import { migration008 } from './008-full-variable-names.js';
import { migration009 } from './009-timers.js';
import { migration010 } from './010-steal-partition.js';
import { migration011 } from './011-subject-keys.js';

/** Every migration, in order. Append only: a shipped migration is text that never changes. */
export const MIGRATIONS: readonly Migration[] = [
  migration001,
  migration002,
  migration003,
  migration004,
  migration005,
  migration006,
  migration007,
  migration008,
  migration009,
  migration010,
  migration011,
];
