/** A partition's fencing epoch and current owner. */
export interface PartitionEpoch {
  readonly partition: number;
  readonly epoch: number;
  readonly owner: string | null;
}
