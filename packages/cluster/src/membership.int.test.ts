import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { ValidationError } from '@ratchet/core';
import { startNatsServer, waitFor, type NatsServerHandle } from '@ratchet/launchers';
import { assignPartitions } from './assign-partitions.js';
import { createMembership, type Membership, type MembershipOptions } from './membership.js';

// A private server: no other test's members can show up in our buckets.
let server: NatsServerHandle;
let nc: NatsConnection;
const open: Membership[] = [];
let bucketCounter = 0;

const HEARTBEAT_MS = 300;
const TTL_MS = 1_500;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.stop()));
});

afterAll(async () => {
  await Promise.all(open.splice(0).map((m) => m.stop()));
  await nc?.close();
  await server?.stop();
});

async function join(bucket: string, workerId: string, extra: Partial<MembershipOptions> = {}): Promise<Membership> {
  const membership = await createMembership({ nats: nc, workerId, bucket, heartbeatIntervalMs: HEARTBEAT_MS, ttlMs: TTL_MS, ...extra });
  open.push(membership);
  return membership;
}

const sameAs = (expected: readonly string[]) => (m: Membership) => m.members().join(',') === expected.join(',');

/** Wait until every membership sees exactly `expected`; returns how long that took. */
async function allSee(memberships: readonly Membership[], expected: readonly string[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(async () => memberships.every(sameAs(expected)), {
    what: `${memberships.map((m) => m.workerId).join('+')} to see [${expected.join(',')}]`,
    timeoutMs,
    intervalMs: 20,
  });
  return Date.now() - started;
}

// Deadlines: JOIN_MS is only "eventually" (generous for loaded machines). The crash bound is ttl + one
// interval after the last heartbeat, plus SLACK_MS for scheduling on a busy machine.
const JOIN_MS = 10_000;
const SLACK_MS = 2_000;

describe('createMembership', () => {
  it('three members agree on the set and the assignment through join, leave and crash', async () => {
    const bucket = `members_${bucketCounter++}`;
    const a = await join(bucket, 'worker-a', { info: { httpPort: 8081 } });
    expect(a.members()).toEqual(['worker-a']); // its own first heartbeat is in before createMembership resolves
    const b = await join(bucket, 'worker-b');
    const c = await join(bucket, 'worker-c');
    const changes: (readonly string[])[] = [];
    a.onChange((members) => changes.push(members));

    await allSee([a, b, c], ['worker-a', 'worker-b', 'worker-c'], JOIN_MS);
    const three = assignPartitions(a.members(), 64);
    for (const m of [b, c]) expect(assignPartitions(m.members(), 64)).toEqual(three);
    expect(new Set(three)).toEqual(new Set(['worker-a', 'worker-b', 'worker-c']));
    expect(b.records().find((r) => r.workerId === 'worker-a')?.info).toEqual({ httpPort: 8081 });

    await c.leave();
    await allSee([a, b], ['worker-a', 'worker-b'], JOIN_MS);
    expect(assignPartitions(a.members(), 64)).toEqual(assignPartitions(b.members(), 64));

    // Crash: b stops heartbeating without deleting; its key expires ttl after its last heartbeat,
    // and a sees that at its next poll.
    await b.stop();
    await allSee([a], ['worker-a'], TTL_MS + HEARTBEAT_MS + SLACK_MS);
    expect(assignPartitions(a.members(), 64)).toEqual(Array<string>(64).fill('worker-a'));

    // Every notification is a sorted set of distinct ids differing from the one before; the last two are the leave and the crash.
    for (const [i, members] of changes.entries()) {
      expect([...new Set(members)].sort()).toEqual(members);
      if (i > 0) expect(members).not.toEqual(changes[i - 1]);
    }
    expect(changes.slice(-2)).toEqual([['worker-a', 'worker-b'], ['worker-a']]);
  });

  it('a planned leave is seen at the next poll, without waiting for the TTL', async () => {
    // A 60 s TTL: if the leaver vanished within the deadline, only its delete can explain it.
    const bucket = `members_${bucketCounter++}`;
    const slow = { ttlMs: 60_000 };
    const a = await join(bucket, 'worker-a', slow);
    const b = await join(bucket, 'worker-b', slow);
    await allSee([a, b], ['worker-a', 'worker-b'], JOIN_MS);
    await b.leave();
    await allSee([a], ['worker-a'], JOIN_MS);
    expect(b.members()).toEqual(['worker-a', 'worker-b']); // a stopped member's view is frozen
  });

  it('a member that rejoins with the same id after a crash is seen again', async () => {
    const bucket = `members_${bucketCounter++}`;
    const a = await join(bucket, 'worker-a');
    const b = await join(bucket, 'worker-b');
    await allSee([a, b], ['worker-a', 'worker-b'], JOIN_MS);
    await b.stop();
    await allSee([a], ['worker-a'], TTL_MS + HEARTBEAT_MS + SLACK_MS);
    const b2 = await join(bucket, 'worker-b');
    await allSee([a, b2], ['worker-a', 'worker-b'], JOIN_MS);
  });

  it('drops a member whose key outlives ttlMs in a bucket created with a longer TTL', async () => {
    const bucket = `members_${bucketCounter++}`;
    await new Kvm(nc).create(bucket, { ttl: 60_000, history: 1 }); // someone else made it, with a 60 s TTL
    const a = await join(bucket, 'worker-a');
    const b = await join(bucket, 'worker-b');
    await allSee([a, b], ['worker-a', 'worker-b'], JOIN_MS);
    await b.stop(); // its key stays in the bucket for a minute
    // Judged by revision age on a's clock: up to one interval to first see the last revision, then ttl.
    await allSee([a], ['worker-a'], TTL_MS + 2 * HEARTBEAT_MS + SLACK_MS);
  });

  it('keeps heartbeating through a NATS server restart', async () => {
    const bucket = `members_${bucketCounter++}`;
    const a = await join(bucket, 'worker-a');
    const b = await join(bucket, 'worker-b');
    await allSee([a, b], ['worker-a', 'worker-b'], JOIN_MS);
    await server.restart(); // same port and store; the client reconnects on its own
    await waitFor(async () => nc.rtt(), { what: 'the client to reconnect', timeoutMs: 20_000 });
    // Both may drop out while the server is away; both must be back once heartbeats land again.
    await allSee([a, b], ['worker-a', 'worker-b'], 20_000);
  });

  it('rejects an id that is not a KV key and a TTL not above the heartbeat', async () => {
    await expect(createMembership({ nats: nc, workerId: 'bad id', bucket: 'members_bad' })).rejects.toBeInstanceOf(ValidationError);
    await expect(
      createMembership({ nats: nc, workerId: 'ok', bucket: 'members_bad', heartbeatIntervalMs: 1_000, ttlMs: 1_000 }),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});
