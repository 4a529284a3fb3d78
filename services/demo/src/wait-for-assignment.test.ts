import { assignPartitions } from '@ratchet/cluster';
import { describe, expect, it } from 'vitest';
import { waitForAssignment } from './wait-for-assignment.js';

const workers = ['demo-worker-1', 'demo-worker-2', 'demo-worker-3'];

describe('waitForAssignment', () => {
  it('returns once every partition is with the worker the assignment names', async () => {
    const target = assignPartitions(workers, 16);
    // The first worker took everything; each look hands one more partition to its owner.
    const held = target.map(() => 'demo-worker-1');
    let looks = 0;
    const wait = await waitForAssignment({
      owners: async () => {
        const moved = target.findIndex((owner, p) => held[p] !== owner);
        if (moved >= 0) held[moved] = target[moved] as string;
        looks += 1;
        return held.map((owner, partition) => ({ partition, owner, epoch: 1 }));
      },
      workers,
      partitions: 16,
      timeoutMs: 10_000,
      pollMs: 1,
    });
    expect(wait).toMatchObject({ settled: true, misplaced: 0 });
    // It kept looking until the last move, and no longer.
    expect(looks).toBe(target.filter((o) => o !== 'demo-worker-1').length);
  });

  it('gives up at the deadline and says how many partitions were still elsewhere', async () => {
    const wait = await waitForAssignment({
      owners: async () =>
        Array.from({ length: 8 }, (_, partition) => ({ partition, owner: partition < 2 ? null : 'demo-worker-1', epoch: 1 })),
      workers,
      partitions: 8,
      timeoutMs: 20,
      pollMs: 5,
    });
    const target = assignPartitions(workers, 8);
    expect(wait.settled).toBe(false);
    expect(wait.misplaced).toBe(target.filter((o, p) => p < 2 || o !== 'demo-worker-1').length);
  });
});
