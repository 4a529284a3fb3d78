// A worker paused (SIGSTOP) past its lease while commands are queued for it: the others claim its
// partitions with newer epochs once its leases are over; when it resumes, its lapsed lease keeps it
// from answering or writing (it does not even reach the fence), its first renewal reports every
// partition lost, no event carries a stale epoch, nothing acknowledged is lost. (test/worker/
// partition-leases.test.ts proves the fence itself, after a forced claim that does not wait.)
import { Turnstile } from '@ratchet/turnstile';
import { waitFor } from '@ratchet/launchers';
import { describe, expect, it } from 'vitest';
import { checkStore } from '../support/verify-store.js';
import { startTurnstileLoad } from '../support/turnstile-load.js';
import {
  claimsFromLogs,
  epochRegressions,
  eventEpochs,
  idInPartition,
  servedBy,
  staleEpochWrites,
  waitSettled,
} from '../support/cluster-probes.js';
import { failed, moreAcknowledged, useClusterFixture } from './cluster-fixture.js';

const fx = useClusterFixture('cpause');

describe('cluster pause past the lease', () => {
  it('keeps a resumed stale owner from answering or writing: it reports its partitions lost, and no event carries a stale epoch', async () => {
    await Promise.all(['w1', 'w2', 'w3'].map((id) => fx.cluster.start(id)));
    const before = await waitSettled(fx.cluster, ['w1', 'w2', 'w3'], 45_000);
    const held = before.find((v) => v.workerId === 'w2')!.owned;
    expect(held.length).toBeGreaterThan(0);

    const load = startTurnstileLoad(fx.client, { turnstiles: 96, concurrency: 16, prefix: 'ps', timeoutMs: 30_000 });
    fx.loads.push(load);
    await moreAcknowledged(load, 300);

    // Commands to w2's partitions that are sure to be queued for it while it is stopped: w2 is the
    // only subscriber of those subjects until the others claim them, so nats-server hands these to it.
    const paused = fx.cluster.process('w2');
    paused.kill('SIGSTOP');
    const queued = held
      .slice(0, 12)
      .map((o) => fx.client.send(Turnstile, idInPartition(o.partition, 'queued'), { type: 'install', payload: {} }, { timeoutMs: 30_000 }));

    // The others take over: Postgres names a new owner and a newer epoch for every partition w2 held.
    await waitFor(
      async () => {
        const view = await fx.cluster.view('w1');
        const now = new Map(view.partitions.map((p) => [p.partition, p]));
        return held.every((o) => now.get(o.partition)!.owner !== 'w2' && now.get(o.partition)!.epoch > o.epoch);
      },
      { what: 'w1 and w3 to claim every partition w2 held', timeoutMs: 20_000, intervalMs: 50 },
    );
    await waitFor(async () => servedBy(await Promise.all(['w1', 'w3'].map((id) => fx.cluster.view(id)))).size === 64, {
      what: 'w1 and w3 to serve every partition',
      timeoutMs: 20_000,
    });
    // Keep the load going while w2 is still stopped (its lease has expired: the others claimed).
    await moreAcknowledged(load, 200);

    const resumedAt = Date.now();
    paused.kill('SIGCONT');
    // Its lease lapsed while it was stopped: it answers nothing from memory and writes nothing; its
    // first renewal finds every partition it held under a newer epoch.
    const lapse = await waitFor(
      // The first lapse logged after the pause (a loaded machine may log short lapses before it, losing nothing).
      async () => paused.logs.find((l) => l.msg === 'partition leases renewed after a lapse' && Number(l.time) >= resumedAt - 50) ?? false,
      { what: 'w2 to renew its leases after it resumed', timeoutMs: 20_000 },
    );
    expect(lapse.lost).toBe(held.length);
    const metrics = await (await fetch(`http://127.0.0.1:${String(paused.ready.httpPort)}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^ratchet_partition_moves_total\\{kind="lost"\\} ${held.length}$`, 'm'));
    // A command decided before the pause may still reach the store after it: the fence refuses it
    // (ratchet_fenced_writes_total may count it); no event carries a stale epoch (below).
    console.log(
      `resumed stale owner: first renewal after ${String(lapse.renewalMs)} ms, ${String(lapse.refused)} commands refused meanwhile`,
    );
    // The queued commands still got their answers (the client retried the refused ones elsewhere).
    expect((await Promise.all(queued)).filter((r) => r.status !== 'ok')).toEqual([]);
    // It rejoins and partitions flow back to it through the normal handover.
    await waitSettled(fx.cluster, ['w1', 'w2', 'w3'], 45_000);
    await moreAcknowledged(load, 300);
    const records = await load.stop();

    const events = await eventEpochs(fx.db.url);
    expect(events.every((e) => e.epoch > 0 && e.partition >= 0)).toBe(true);
    expect(epochRegressions(events)).toEqual([]);
    const claims = claimsFromLogs([...fx.cluster.workers.entries()]);
    expect(claims.filter((c) => c.workerId !== 'w2').length).toBeGreaterThanOrEqual(held.length);
    expect(staleEpochWrites(events, claims)).toEqual([]);

    const check = await checkStore(fx.db.url, records);
    expect(check.lost).toEqual([]);
    expect(check.gaps).toEqual([]);
    expect(check.duplicated).toEqual([]);
    expect(failed(records)).toEqual([]);
  }, 180_000);
});
