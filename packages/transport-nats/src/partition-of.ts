/** Partitions per aggregate type unless configured otherwise; clients and workers must agree. */
export const DEFAULT_PARTITION_COUNT = 64;

const FNV_OFFSET_BASIS = 2166136261;
const FNV_PRIME = 16777619;
const utf8 = new TextEncoder();

/** FNV-1a 32-bit hash of the UTF-8 bytes of `s`, as an unsigned integer. */
export function fnv1a32(s: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of utf8.encode(s)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

/**
 * The partition that owns an aggregate id: FNV-1a 32-bit of its UTF-8 bytes modulo `partitionCount`.
 * The function is part of the wire protocol (docs/protocol.md); changing it moves every aggregate.
 * @example
 * partitionOf('turnstile-1', DEFAULT_PARTITION_COUNT); // → 37
 */
export function partitionOf(aggregateId: string, partitionCount: number = DEFAULT_PARTITION_COUNT): number {
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
  }
  return fnv1a32(aggregateId) % partitionCount;
}
