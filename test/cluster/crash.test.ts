// Crash under load: SIGKILL one of three workers. Its partitions are served again within the
// documented bound (member TTL + one heartbeat interval + the claims), no acknowledged command is
// lost and every stream stays gap-free.
import { performance } from 'node:perf_hooks';
import { Turnstile } from '@ratchet/turnstile';
import { waitFor } from '@ratchet/launchers';
import { describe, expect, it } from 'vitest';
import { checkStore } from '../support/verify-store.js';
import { startTurnstileLoad } from '../support/turnstile-load.js';
import { PARTITIONS, TIMINGS, idInPartition, servedBy, waitSettled } from '../support/cluster-probes.js';
import { failed, moreAcknowledged, useClusterFixture } from './cluster-fixture.js';

const fx = useClusterFixture('ccrash');
/** Room for this shared 2-core machine on top of TTL + interval: the claims, polls, scheduling. */
const SLACK_MS = 5_000;

describe('cluster crash', () => {
  it('serves a SIGKILLed worker’s partitions again within TTL + interval, losing no acknowledged command', async () => {
    await Promise.all(['w1', 'w2', 'w3'].map((id) => fx.cluster.start(id)));
    const before = await waitSettled(fx.cluster, ['w1', 'w2', 'w3'], 45_000);
    const orphaned = before.find((v) => v.workerId === 'w3')!.owned.map((o) => o.partition);

    const load = startTurnstileLoad(fx.client, { turnstiles: 96, concurrency: 16, prefix: 'cr', timeoutMs: 30_000 });
    fx.loads.push(load);
    await moreAcknowledged(load, 300);

    const victim = fx.cluster.process('w3');
    const killedAt = performance.now();
    victim.kill('SIGKILL');
    // Every partition has a live owner that serves it (it is in that owner's own `owned` list).
    await waitFor(
      async () => {
        const views = await Promise.all(['w1', 'w2'].map((id) => fx.cluster.view(id)));
        return servedBy(views).size === PARTITIONS;
      },
      { what: 'the survivors to serve every partition', timeoutMs: 30_000, intervalMs: 25 },
    );
    const failoverMs = performance.now() - killedAt;
    const bound = TIMINGS.MEMBER_TTL_MS + TIMINGS.HEARTBEAT_INTERVAL_MS;
    console.log(
      `failover after SIGKILL: ${failoverMs.toFixed(0)} ms (documented bound ${bound} ms + claims; ${orphaned.length} partitions moved)`,
    );
    expect(await victim.exited).toBe('SIGKILL');
    fx.cluster.workers.delete('w3');
    expect(failoverMs).toBeLessThanOrEqual(bound + SLACK_MS);

    // A probe per orphaned partition is answered by its new owner.
    const probes = await Promise.all(
      orphaned.map((p) => fx.client.send(Turnstile, idInPartition(p, 'probe'), { type: 'install', payload: {} }, { timeoutMs: 10_000 })),
    );
    expect(probes.filter((r) => r.status !== 'ok')).toEqual([]);

    await waitSettled(fx.cluster, ['w1', 'w2'], 30_000);
    await moreAcknowledged(load, 300);
    const records = await load.stop();

    const check = await checkStore(fx.db.url, records);
    expect(check.lost).toEqual([]);
    expect(check.gaps).toEqual([]);
    expect(check.duplicated).toEqual([]);
    // The client retried the commands the dead worker never answered; none ran out of time.
    expect(failed(records)).toEqual([]);
  }, 150_000);
});
