import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ValidationError } from '@ratchet/core';
import { assignPartitions, ownedPartitions } from './assign-partitions.js';

const workers = (n: number, prefix = 'worker'): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

function loads(assignment: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const owner of assignment) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}

function expectBalanced(assignment: readonly string[], members: readonly string[], partitionCount: number): void {
  const ids = [...new Set(members)];
  const floor = Math.floor(partitionCount / ids.length);
  const counts = loads(assignment);
  expect(assignment).toHaveLength(partitionCount);
  for (const owner of assignment) expect(ids).toContain(owner);
  const perMember = ids.map((id) => counts.get(id) ?? 0);
  for (const count of perMember) expect([floor, floor + 1]).toContain(count);
  // exactly P mod N members carry the extra partition
  expect(perMember.filter((c) => c === floor + 1)).toHaveLength(partitionCount % ids.length);
}

const moved = (a: readonly string[], b: readonly string[]): number => a.filter((owner, p) => owner !== b[p]).length;

/** Generous bound on partitions moved by one join/leave between `small` and `small + 1` members (see README). */
const moveBound = (partitionCount: number, small: number): number =>
  2 * Math.ceil(partitionCount / small) + 2 * Math.ceil(Math.sqrt(partitionCount));

describe('assignPartitions', () => {
  for (const partitionCount of [1, 7, 64, 256]) {
    it(`balances ${partitionCount} partitions within ±1 for 1..10 members`, () => {
      for (let n = 1; n <= 10; n += 1) expectBalanced(assignPartitions(workers(n), partitionCount), workers(n), partitionCount);
    });
  }

  it('depends on the member set only: order and duplicates do not matter', () => {
    const members = ['w-c', 'w-a', 'w-e', 'w-b', 'w-d'];
    const expected = assignPartitions(members, 64);
    expect(assignPartitions([...members].reverse(), 64)).toEqual(expected);
    expect(assignPartitions([...members, 'w-a', 'w-c'], 64)).toEqual(expected);
  });

  it('is a fixed function: the same set gives the same table across calls', () => {
    // Pinned so a change of hash or tie-break (which would reshuffle every cluster on upgrade) is noticed.
    expect(assignPartitions(['a', 'b', 'c'], 8)).toEqual(assignPartitions(['c', 'b', 'a'], 8));
    expect(assignPartitions(['a', 'b', 'c'], 8)).toMatchInlineSnapshot(`
      [
        "b",
        "a",
        "b",
        "c",
        "a",
        "a",
        "b",
        "c",
      ]
    `);
  });

  it('gives a single member every partition', () => {
    expect(assignPartitions(['only'], 5)).toEqual(['only', 'only', 'only', 'only', 'only']);
  });

  it('moves few partitions when one member joins or leaves', () => {
    for (const partitionCount of [7, 64, 256]) {
      for (let n = 1; n <= 10; n += 1) {
        const before = assignPartitions(workers(n), partitionCount);
        const joined = assignPartitions([...workers(n), 'newcomer'], partitionCount);
        // the newcomer must take at least floor(P/(n+1)); plain modulo placement would move ~P·n/(n+1)
        expect(moved(before, joined)).toBeGreaterThanOrEqual(Math.floor(partitionCount / (n + 1)));
        expect(moved(before, joined)).toBeLessThanOrEqual(moveBound(partitionCount, n));
      }
    }
  });

  it('property: balanced, order-independent, and a join or leave moves a bounded number', () => {
    const memberId = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(memberId, { minLength: 1, maxLength: 16 }),
        memberId,
        fc.integer({ min: 1, max: 300 }),
        (members, extra, partitionCount) => {
          fc.pre(!members.includes(extra));
          const assignment = assignPartitions(members, partitionCount);
          expectBalanced(assignment, members, partitionCount);
          expect(assignPartitions([...members].reverse(), partitionCount)).toEqual(assignment);
          const joined = assignPartitions([...members, extra], partitionCount);
          expectBalanced(joined, [...members, extra], partitionCount);
          expect(moved(assignment, joined)).toBeLessThanOrEqual(moveBound(partitionCount, members.length));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects an empty member set and a bad partition count', () => {
    expect(() => assignPartitions([], 4)).toThrow(ValidationError);
    expect(() => assignPartitions(['a'], 0)).toThrow(ValidationError);
    expect(() => assignPartitions(['a'], 1.5)).toThrow(ValidationError);
  });
});

describe('ownedPartitions', () => {
  it('lists the partitions of one owner in ascending order', () => {
    expect(ownedPartitions(['a', 'b', 'a', 'c', 'a'], 'a')).toEqual([0, 2, 4]);
    expect(ownedPartitions(['a', 'b'], 'z')).toEqual([]);
  });
});
