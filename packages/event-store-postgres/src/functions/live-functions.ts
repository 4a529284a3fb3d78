import type { LiveFunction } from './live-function.js';
import { appendBatchSequentialSql } from './append-batch-sequential.sql.js';
import { appendBatchSql } from './append-batch.sql.js';
import { appendOneSql } from './append-one.sql.js';
import { duplicateOutcomeSql } from './duplicate-outcome.sql.js';
import { ensureSubjectKeysSql } from './ensure-subject-keys.sql.js';
import { forgetSubjectSql } from './forget-subject.sql.js';
import { readSubjectKeysSql } from './read-subject-keys.sql.js';
import { refuseEventChangeSql } from './refuse-event-change.sql.js';
import { stealPartitionSql } from './steal-partition.sql.js';
import { tryClaimPartitionSql } from './try-claim-partition.sql.js';

/** Every function of the store's schema as it is live after the last migration, by name. */
export const LIVE_FUNCTIONS: readonly LiveFunction[] = [
  appendBatchSql,
  appendBatchSequentialSql,
  appendOneSql,
  duplicateOutcomeSql,
  ensureSubjectKeysSql,
  forgetSubjectSql,
  readSubjectKeysSql,
  refuseEventChangeSql,
  stealPartitionSql,
  tryClaimPartitionSql,
];
