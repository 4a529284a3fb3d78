// Partition leases at the worker (guarantee 3): a worker answers from memory only while its lease
// holds; a claim by another holder waits for the lease; a write after a claim that did not wait (an
// operator's forced claimPartition) is still refused by the fence.
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { waitFor } from '@ratchet/launchers';
import { createTestDatabase } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import pg from 'pg';
import { createWorker, PartitionLeases } from '@ratchet/worker';
import { partitionOf } from '@ratchet/transport-nats';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessWorker, type InProcessWorker } from './in-process-worker.js';

const log = pino({ level: 'silent' });
let w: InProcessWorker;

beforeAll(async () => {
  w = await startInProcessWorker({ database: 'leases', worker: { partitionLeaseMs: 1_000 } });
});
afterAll(async () => {
  await w?.stop();
});

describe('a worker whose partition was claimed by force', () => {
  it('has its next write fenced: nothing is written, and it stops serving the partition', async () => {
    const id = 'forced-1';
    expect((await w.client.send(Turnstile, id, { type: 'install', payload: {} })).status).toBe('ok');
    const partition = partitionOf(id, 64);
    const before = w.worker.stats().fencedWrites;
    // Nobody waits for the lease here: only the fence stands between the worker and a stale write.
    await w.store.claimPartition(partition, 'operator');
    const r = await w.client.send(Turnstile, id, { type: 'insertCoin', payload: {} }, { timeoutMs: 1_500 });
    expect(r.status).toBe('error');
    expect(w.worker.stats().fencedWrites).toBe(before + 1);
    expect(await w.store.streamVersion(`turnstile/${id}`)).toBe(1);
    expect(w.worker.ownedPartitions().map((o) => o.partition)).not.toContain(partition);
  });
});

describe('leases in Postgres', () => {
  it('refuse a claim while another holder renews, and grant it once the holder stops', async () => {
    const partition = 5;
    const a = new PartitionLeases({ store: w.store, owner: 'a', holder: 'a:1', leaseMs: 600, logger: log, onLost: () => undefined });
    const b = new PartitionLeases({ store: w.store, owner: 'b', holder: 'b:1', leaseMs: 600, logger: log, onLost: () => undefined });
    // The in-process worker holds every partition: take this one from it the forced way first.
    await w.store.claimPartition(partition, 'operator');
    expect(await a.claim(partition)).not.toBeNull();
    a.start();
    try {
      // Renewed every 120 ms: b is refused for longer than one lease.
      const until = Date.now() + 1_500;
      while (Date.now() < until) {
        expect(await b.claim(partition)).toBeNull();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(a.holds(partition)).toBe(true);
    } finally {
      await a.stop();
    }
    // a no longer renews: b gets it once Postgres sees a's lease over, and by then a's own
    // (shorter, local) lease has ended too: there is no moment when both may answer from memory.
    const epoch = await waitFor(async () => (await b.claim(partition)) ?? false, {
      what: 'b to claim after a stopped renewing',
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    expect(a.holds(partition)).toBe(false);
    expect(a.refusals).toBe(1);
    expect(await b.claim(partition)).toBe(epoch + 1); // the same holder may claim again at once
  });

  it('report a partition lost when a renewal finds another epoch', async () => {
    const partition = 6;
    const lost: number[] = [];
    const a = new PartitionLeases({ store: w.store, owner: 'a', holder: 'a:2', leaseMs: 600, logger: log, onLost: (p) => lost.push(p) });
    await w.store.claimPartition(partition, 'operator');
    expect(await a.claim(partition)).not.toBeNull();
    await w.store.claimPartition(partition, 'operator');
    await a.renew();
    expect(lost).toEqual([partition]);
    expect(a.holds(partition)).toBe(false);
    expect(a.fenceFor(partition)).toBeUndefined();
  });
});

describe('a lease past its local deadline', () => {
  it('is not held (the worker answers UNAVAILABLE) until a renewal under the same epoch succeeds', async () => {
    const id = 'lapse-1';
    expect((await w.client.send(Turnstile, id, { type: 'install', payload: {} })).status).toBe('ok');
    // A worker whose clock is ours to move: its lease lapses when we say so.
    let skew = 0;
    const leases = new PartitionLeases({
      store: w.store,
      owner: 'clocked',
      leaseMs: 1_000,
      logger: log,
      onLost: () => undefined,
      now: () => performance.now() + skew,
    });
    const partition = partitionOf(id, 64);
    await w.store.claimPartition(partition, 'operator');
    expect(await leases.claim(partition)).not.toBeNull();
    expect(leases.holds(partition)).toBe(true);
    skew = 5_000; // as if the process had been stopped for 5 s
    expect(leases.holds(partition)).toBe(false);
    await leases.renew();
    expect(leases.holds(partition)).toBe(true); // nobody claimed meanwhile: the renewal restores it
  });
});

describe('a static worker restarting after a crash', () => {
  it('claims each partition only after the dead incarnation’s lease is over in Postgres', async () => {
    const db = await createTestDatabase('leases-restart');
    const store = createPostgresEventStore({ connectionString: db.url });
    try {
      await store.migrate();
      // The crashed incarnation: it claimed every partition, then stopped renewing (no release).
      const dead = new PartitionLeases({ store, owner: 'static', leaseMs: 1_500, logger: log, onLost: () => undefined });
      for (let p = 0; p < 4; p += 1) expect(await dead.claim(p)).not.toBeNull();
      const expiries = await leaseExpiries(db.url);
      const successor = createWorker({
        nats: w.nc,
        store,
        aggregates: [Turnstile],
        partitionCount: 4,
        partitionLeaseMs: 1_500,
        queueGroup: 'successor',
      });
      await successor.start();
      try {
        expect(successor.ownedPartitions()).toHaveLength(4);
        const claimedAt = await claimTimes(db.url);
        for (let p = 0; p < 4; p += 1) expect(claimedAt.get(p)!).toBeGreaterThan(expiries.get(p)!);
      } finally {
        await successor.drain(5_000);
      }
      // A planned stop released them: the next incarnation needs no wait.
      expect((await store.partitionEpochs()).every((r) => r.owner === null)).toBe(true);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});

/** Each partition's lease expiry (Postgres clock, ms). */
async function leaseExpiries(url: string): Promise<Map<number, number>> {
  return partitionTimes(url, 'lease_expires_at');
}

/** When each partition was last claimed (Postgres clock, ms). */
async function claimTimes(url: string): Promise<Map<number, number>> {
  return partitionTimes(url, 'updated_at');
}

async function partitionTimes(url: string, column: 'lease_expires_at' | 'updated_at'): Promise<Map<number, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const res = await c.query<{ partition: number; t: string }>(
      `SELECT partition, extract(epoch FROM ${column}) * 1000 AS t FROM ratchet.partitions`,
    );
    return new Map(res.rows.map((r) => [r.partition, Number(r.t)]));
  } finally {
    await c.end();
  }
}
