/**
 * The first key of a partition's fence lock (a transaction-level advisory lock; the second key is
 * the partition number), as an SQL expression. Fenced appends hold it shared while they check the
 * epoch and commit; a claim holds it exclusively while it bumps the epoch. Unlike a row share lock,
 * it writes nothing (no MultiXact when batches overlap). The live functions and `claimPartition`
 * take it from here; shipped migrations hold the text it had when they shipped.
 */
export const partitionLockClass = (quotedSchema: string): string => `hashtext('${quotedSchema}.partitions')`;
