// Planned leave under load: SIGTERM one of three workers; it hands its partitions over and exits 0,
// the other two take them, and no command fails (in-flight ones finish, later ones are retried).
import { describe, expect, it } from 'vitest';
import { checkStore } from '../support/verify-store.js';
import { startTurnstileLoad } from '../support/turnstile-load.js';
import { PARTITIONS, waitSettled } from '../support/cluster-probes.js';
import { failed, moreAcknowledged, useClusterFixture } from './cluster-fixture.js';

const fx = useClusterFixture('cleave');

describe('cluster planned leave', () => {
  it('hands a SIGTERMed worker’s partitions to the other two without a failed command', async () => {
    await Promise.all(['w1', 'w2', 'w3'].map((id) => fx.cluster.start(id)));
    const before = await waitSettled(fx.cluster, ['w1', 'w2', 'w3'], 45_000);
    const leaving = before.find((v) => v.workerId === 'w2')!.owned.map((o) => o.partition);
    expect(leaving.length).toBeGreaterThan(0);

    const load = startTurnstileLoad(fx.client, { turnstiles: 96, concurrency: 16, prefix: 'lv', timeoutMs: 30_000 });
    fx.loads.push(load);
    await moreAcknowledged(load, 300);

    const w2 = fx.cluster.process('w2');
    expect(await w2.stop(20_000)).toBe(0);
    fx.cluster.workers.delete('w2');
    expect(w2.logs.some((l) => l.msg === 'partition released' && l.leaving === true)).toBe(true);

    const after = await waitSettled(fx.cluster, ['w1', 'w3'], 30_000);
    for (const v of after) expect(v.owned.length).toBe(PARTITIONS / 2);
    const pg = new Map(after[0]!.partitions.map((p) => [p.partition, p]));
    for (const p of leaving) {
      expect(['w1', 'w3']).toContain(pg.get(p)?.owner);
      // The new owner claimed a newer epoch than w2 held.
      expect(pg.get(p)!.epoch).toBeGreaterThan(before[0]!.partitions.find((q) => q.partition === p)!.epoch);
    }
    await moreAcknowledged(load, 300);
    const records = await load.stop();

    expect(failed(records)).toEqual([]);
    const check = await checkStore(fx.db.url, records);
    expect(check.lost).toEqual([]);
    expect(check.gaps).toEqual([]);
    expect(check.duplicated).toEqual([]);
  }, 150_000);
});
