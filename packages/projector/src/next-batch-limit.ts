/** How large a read-model batch may be. */
export interface BatchSizes {
  /** Events per read-model transaction while the version keeps up. */
  readonly batchSize: number;
  /** What a batch may grow to while a backlog waits (after a full batch). */
  readonly maxBatchSize: number;
}

/**
 * The next batch's size limit: a full batch means more events wait, so the next one may take up
 * to maxBatchSize of them (its fixed costs shared by more events); a batch that is not full sets
 * the limit back to batchSize. JetStream batches and feed pages grow by this one rule.
 */
export function nextBatchLimit(limit: number, taken: number, sizes: BatchSizes): number {
  return taken >= limit ? sizes.maxBatchSize : sizes.batchSize;
}
