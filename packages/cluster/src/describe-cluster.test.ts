import { describe, expect, it } from 'vitest';
import { describeCluster } from './describe-cluster.js';
import type { MemberRecord } from './member-record.js';

describe('describeCluster', () => {
  it('counts partitions per member and fills epochs from a map, null where unknown', () => {
    const view = describeCluster(
      ['b', 'a'],
      ['a', 'b', 'a'],
      new Map([
        [0, 3],
        [2, 1],
      ]),
    );
    expect(view).toEqual({
      members: [
        { workerId: 'a', partitionCount: 2 },
        { workerId: 'b', partitionCount: 1 },
      ],
      partitions: [
        { partition: 0, owner: 'a', epoch: 3 },
        { partition: 1, owner: 'b', epoch: null },
        { partition: 2, owner: 'a', epoch: 1 },
      ],
    });
  });

  it('takes epochs as an array and records with info, and survives JSON', () => {
    const record: MemberRecord = {
      workerId: 'w1',
      startedAt: '2025-01-01T00:00:00.000Z',
      heartbeatAt: '2025-01-01T00:00:05.000Z',
      info: { httpPort: 8080 },
    };
    const view = describeCluster([record, 'idle'], ['w1', 'w1'], [7, undefined]);
    expect(JSON.parse(JSON.stringify(view))).toEqual({
      members: [
        { workerId: 'idle', partitionCount: 0 },
        { workerId: 'w1', partitionCount: 2, startedAt: record.startedAt, heartbeatAt: record.heartbeatAt, info: { httpPort: 8080 } },
      ],
      partitions: [
        { partition: 0, owner: 'w1', epoch: 7 },
        { partition: 1, owner: 'w1', epoch: null },
      ],
    });
  });
});
