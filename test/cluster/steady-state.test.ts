// Steady state of three settled workers: every partition is served by exactly one of them, under
// the epoch Postgres holds for it, and everything written meanwhile carries that single epoch.
import { describe, expect, it } from 'vitest';
import { checkStore } from '../support/verify-store.js';
import { startTurnstileLoad } from '../support/turnstile-load.js';
import { PARTITIONS, eventEpochs, headPosition, servedBy, waitSettled } from '../support/cluster-probes.js';
import { failed, moreAcknowledged, useClusterFixture } from './cluster-fixture.js';

const fx = useClusterFixture('csteady');
const IDS = ['w1', 'w2', 'w3'];
// The default membership timings (1 s heartbeat, 5 s TTL), not the small ones the failover tests use:
// with a 1.5 s TTL, one membership poll stalled past the TTL on this shared 2-core machine expels a
// live worker and moves its partitions (seen in 2 of 4 runs; reported), which is no steady state.
const STEADY = { HEARTBEAT_INTERVAL_MS: '1000', MEMBER_TTL_MS: '5000' };

describe('cluster steady state', () => {
  it('serves each partition from one worker under the epoch Postgres holds', async () => {
    await Promise.all(IDS.map((id) => fx.cluster.start(id, STEADY)));
    await waitSettled(fx.cluster, IDS, 45_000);
    const movesBefore = await Promise.all(IDS.map(async (id) => (await fx.cluster.stats(id)).partitionMoves));
    const mark = await headPosition(fx.db.url);

    const load = startTurnstileLoad(fx.client, { turnstiles: 96, concurrency: 16, prefix: 'st', timeoutMs: 30_000 });
    fx.loads.push(load);
    await moreAcknowledged(load, 600);
    const views = await Promise.all(IDS.map((id) => fx.cluster.view(id)));
    const records = await load.stop();

    // No partition moved while the load ran.
    const movesAfter = await Promise.all(IDS.map(async (id) => (await fx.cluster.stats(id)).partitionMoves));
    expect(movesAfter).toEqual(movesBefore);

    // The union of the three `owned` lists covers every partition exactly once.
    const all = views.flatMap((v) => v.owned.map((o) => o.partition)).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: PARTITIONS }, (_, p) => p));
    const by = servedBy(views);
    // Each owned epoch is Postgres's epoch for that partition, and Postgres names the same owner.
    const pg = new Map(views[0]!.partitions.map((p) => [p.partition, p]));
    for (const v of views) {
      for (const o of v.owned) {
        expect({ partition: o.partition, owner: pg.get(o.partition)?.owner, epoch: pg.get(o.partition)?.epoch }).toEqual({
          partition: o.partition,
          owner: v.workerId,
          epoch: o.epoch,
        });
      }
    }

    // Events written in the steady state carry one epoch per partition: the current one.
    const events = await eventEpochs(fx.db.url, mark);
    expect(events.length).toBeGreaterThanOrEqual(600);
    const epochs = new Map<number, Set<number>>();
    for (const e of events) epochs.set(e.partition, (epochs.get(e.partition) ?? new Set()).add(e.epoch));
    for (const [partition, set] of epochs) {
      expect({ partition, epochs: [...set] }).toEqual({ partition, epochs: [pg.get(partition)!.epoch] });
    }
    // The load touched partitions of every worker.
    expect(new Set([...epochs.keys()].map((p) => by.get(p)?.[0])).size).toBe(3);

    expect(failed(records)).toEqual([]);
    const check = await checkStore(fx.db.url, records);
    expect(check.lost).toEqual([]);
    expect(check.gaps).toEqual([]);
    expect(check.duplicated).toEqual([]);
  }, 150_000);
});
