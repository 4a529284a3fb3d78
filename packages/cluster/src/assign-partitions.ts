import { requireItem, ValidationError } from '@ratchet/core';

/**
 * Assign each of `partitionCount` partitions to one member: a pure function of the member *set*.
 *
 * Algorithm (rendezvous hashing with bounded load):
 * 1. Deduplicate and sort the member ids, so the input order never matters.
 * 2. Weigh every (member, partition) pair with a stable 32-bit hash of the UTF-8 string
 *    `${member}:${partition}` (FNV-1a, then the murmur3 finaliser to spread the bits).
 * 3. Visit the pairs from the heaviest down (ties: member id, then partition, ascending) and give the
 *    partition to the member if the partition is still free and the member is below its cap.
 *    Every member may hold `floor(P/N)`; only the first `P mod N` members to reach that many may take
 *    one more. The caps add up to exactly P, so every partition is placed and every member ends
 *    with `floor(P/N)` or `ceil(P/N)` partitions.
 *
 * Without the caps this is plain rendezvous hashing: a join takes only the partitions the newcomer
 * weighs heaviest, a leave moves only the leaver's partitions. The caps add a few extra moves
 * (a member over its new cap hands its lightest partitions on), typically well under `2·ceil(P/N)`.
 *
 * Cost: O(P·N·log(P·N)) time, O(P·N) memory — 256 partitions × 20 members is about 5 000 pairs.
 *
 * @returns the owner's member id per partition (index = partition number).
 * @throws ValidationError when `members` is empty or `partitionCount` is not a positive integer.
 * @example
 * assignPartitions(['c', 'a', 'b'], 8); // → ['b', 'a', 'b', 'c', 'a', 'a', 'b', 'c']
 */
export function assignPartitions(members: readonly string[], partitionCount: number): string[] {
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1) {
    throw new ValidationError(`partitionCount must be a positive integer, got ${partitionCount}`, [
      { path: ['partitionCount'], message: 'must be a positive integer' },
    ]);
  }
  const ids = [...new Set(members)].sort(compareIds);
  if (ids.length === 0) {
    throw new ValidationError('cannot assign partitions to an empty member set', [
      { path: ['members'], message: 'must name at least one member' },
    ]);
  }
  const n = ids.length;
  const pairs = n * partitionCount;
  const weights = new Uint32Array(pairs); // pair index = member * partitionCount + partition
  for (let m = 0; m < n; m += 1) {
    const prefix = fnv1a(FNV_OFFSET, `${ids[m]}:`);
    for (let p = 0; p < partitionCount; p += 1) weights[m * partitionCount + p] = fmix32(fnv1aDigits(prefix, p));
  }
  const order = new Uint32Array(pairs);
  for (let i = 0; i < pairs; i += 1) order[i] = i;
  // Heaviest first; pair index order (member, then partition) breaks ties deterministically.
  // Indices in range; 0 is what a Uint32Array holds anyway.
  order.sort((a, b) => (weights[b] ?? 0) - (weights[a] ?? 0) || a - b);

  const base = Math.floor(partitionCount / n);
  let extraLeft = partitionCount % n;
  const load = new Uint32Array(n);
  const owner = new Int32Array(partitionCount).fill(-1);
  let placed = 0;
  for (const pair of order) {
    if (placed >= partitionCount) break;
    const p = pair % partitionCount;
    const m = (pair - p) / partitionCount;
    if (owner[p] !== -1) continue;
    const held = load[m] ?? 0;
    if (held < base) {
      // under the floor: always room
    } else if (held === base && extraLeft > 0) {
      extraLeft -= 1;
    } else {
      continue;
    }
    owner[p] = m;
    load[m] = held + 1;
    placed += 1;
  }
  // Every partition was placed (the loads add up to partitionCount), so no owner is -1.
  return Array.from(owner, (m) => requireItem(ids, m, 'member'));
}

/** The partitions `member` owns in `assignment` (as returned by {@link assignPartitions}), ascending. */
export function ownedPartitions(assignment: readonly string[], member: string): number[] {
  const owned: number[] = [];
  assignment.forEach((owner, partition) => {
    if (owner === member) owned.push(partition);
  });
  return owned;
}

// Code-unit order, not localeCompare: the same on every machine and locale.
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** FNV-1a 32-bit over the UTF-8 bytes of `text`, continuing from `hash` (so a shared prefix is hashed once). */
function fnv1a(hash: number, text: string): number {
  let h = hash;
  for (const byte of utf8.encode(text)) {
    h ^= byte;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a continued over the decimal digits of `n` (ASCII, so the same bytes as UTF-8) without allocating. */
function fnv1aDigits(hash: number, n: number): number {
  const digits = String(n);
  let h = hash;
  for (let i = 0; i < digits.length; i += 1) {
    h ^= digits.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: FNV-1a alone barely changes its high bits when only the last byte differs. */
function fmix32(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
