// Scale out under load: one worker serves everything, two more join, the partitions spread to
// ±1 of even, and no command fails or is lost on the way (the client retries through handovers).
import { describe, expect, it } from 'vitest';
import { checkStore } from '../support/verify-store.js';
import { startTurnstileLoad } from '../support/turnstile-load.js';
import { PARTITIONS, waitSettled } from '../support/cluster-probes.js';
import { failed, moreAcknowledged, useClusterFixture } from './cluster-fixture.js';

const fx = useClusterFixture('cjoin');

describe('cluster join', () => {
  it('spreads the partitions evenly over three workers without a failed or lost command', async () => {
    await fx.cluster.start('w1');
    await waitSettled(fx.cluster, ['w1']);
    const load = startTurnstileLoad(fx.client, { turnstiles: 96, concurrency: 16, prefix: 'jn', timeoutMs: 30_000 });
    fx.loads.push(load);
    await moreAcknowledged(load, 200);

    await Promise.all([fx.cluster.start('w2'), fx.cluster.start('w3')]);
    const views = await waitSettled(fx.cluster, ['w1', 'w2', 'w3'], 45_000);
    await moreAcknowledged(load, 300);
    const records = await load.stop();

    // Each worker's own view of what it serves, and Postgres's owner column, are both ±1 of even.
    const even = PARTITIONS / 3;
    for (const v of views) {
      expect(Math.abs(v.owned.length - even)).toBeLessThanOrEqual(1);
    }
    const pgOwners = new Map<string, number>();
    for (const p of views[0]!.partitions) pgOwners.set(String(p.owner), (pgOwners.get(String(p.owner)) ?? 0) + 1);
    expect([...pgOwners.keys()].sort()).toEqual(['w1', 'w2', 'w3']);
    for (const n of pgOwners.values()) expect(Math.abs(n - even)).toBeLessThanOrEqual(1);
    // The two newcomers took partitions over (moves recorded), not just joined.
    expect((await fx.cluster.stats('w2')).partitionMoves).toBeGreaterThan(0);
    expect((await fx.cluster.stats('w3')).partitionMoves).toBeGreaterThan(0);

    expect(failed(records)).toEqual([]);
    const check = await checkStore(fx.db.url, records);
    expect(check.lost).toEqual([]);
    expect(check.gaps).toEqual([]);
    expect(check.duplicated).toEqual([]);
    expect(check.acknowledged).toBeGreaterThanOrEqual(500);
  }, 150_000);
});
