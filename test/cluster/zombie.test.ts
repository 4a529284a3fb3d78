// Zombie answers (issue 18): a worker paused (SIGSTOP) past its lease still holds its actors and its
// subscriptions; while it is stopped, nats-server hands it a share of the commands sent to its old
// partitions (the new owner has joined the same queue group). When it resumes it must not answer
// them from its stale memory: a false VERSION_CONFLICT or a false rejection is a wrong definite
// answer even though it writes nothing. Every probe below is sent with what is true in the store
// (the right expectedVersion; insertCoin to a turnstile installed after the pause began), so its only
// right answer is ok. Twice, so the second pause follows an A → B → A round trip of ownership.
import { connectClient, type RatchetClient, type SendResult } from '@ratchet/client';
import { waitFor } from '@ratchet/launchers';
import { Turnstile } from '@ratchet/turnstile';
import { afterAll, describe, expect, it } from 'vitest';
import { epochRegressions, eventEpochs, idInPartition, waitSettled, type ClusterView } from '../support/cluster-probes.js';
import { checkStore } from '../support/verify-store.js';
import type { LoadRecord } from '../support/turnstile-load.js';
import { useClusterFixture } from './cluster-fixture.js';

const fx = useClusterFixture('czombie');
const IDS = ['w1', 'w2', 'w3'] as const;

/** Turnstiles whose version the test knows, and the records of every command it sent. */
class Truth {
  readonly versions = new Map<string, number>();
  readonly records: LoadRecord[] = [];
  #seq = 0;

  async send(client: RatchetClient, id: string, type: 'install' | 'insertCoin' | 'pushArm', expectedVersion?: number): Promise<SendResult> {
    const commandId = `zombie-${(this.#seq += 1)}`;
    const r = await client.send(
      Turnstile,
      id,
      { type, payload: {} },
      { commandId, ...(expectedVersion === undefined ? {} : { expectedVersion }) },
    );
    this.records.push({
      id,
      commandId,
      type,
      status: r.status,
      ...(r.status === 'ok' ? { version: r.version } : {}),
      ...(r.status === 'error' ? { code: r.error.code } : {}),
    });
    if (r.status === 'ok') this.versions.set(id, r.version);
    return r;
  }
}

/** What a probe was told, in a line a failure message can show. */
function told(r: SendResult): string {
  if (r.status === 'ok') return `ok v${r.version}`;
  if (r.status === 'rejected') return `rejected "${r.reason}" at v${r.version}`;
  return `${r.error.code}: ${r.error.message}`;
}

describe('a worker paused past its lease', () => {
  // Probes wait on the paused worker until it resumes: one long attempt, so its answer is the one heard.
  let patient: RatchetClient;
  afterAll(async () => {
    await patient?.close();
  });

  it('never answers from stale memory after it resumes, also after an A → B → A round trip', async () => {
    patient = await connectClient({ servers: fx.nats.url, timeoutMs: 120_000, attemptTimeoutMs: 90_000 });
    await Promise.all(IDS.map((id) => fx.cluster.start(id)));
    let views: ClusterView[] = await waitSettled(fx.cluster, IDS, 45_000);
    const truth = new Truth();
    const wrong: string[] = [];

    for (const round of [1, 2]) {
      const held = views.find((v) => v.workerId === 'w2')!.owned.map((o) => o.partition);
      expect(held.length).toBeGreaterThan(0);
      // Known turnstiles: installed and advanced, so w2 caches their state. Fresh ones: w2 caches
      // "not installed" (version 0) after rejecting a coin.
      const known = Array.from({ length: 24 }, (_, i) =>
        idInPartition(held[i % held.length]!, `r${round}-known`, Math.floor(i / held.length)),
      );
      const fresh = Array.from({ length: 24 }, (_, i) =>
        idInPartition(held[i % held.length]!, `r${round}-fresh`, Math.floor(i / held.length)),
      );
      await Promise.all([
        ...known.map(async (id) => {
          expect((await truth.send(fx.client, id, 'install')).status).toBe('ok');
          expect((await truth.send(fx.client, id, 'insertCoin')).status).toBe('ok');
        }),
        ...fresh.map(async (id) => expect((await truth.send(fx.client, id, 'insertCoin')).status).toBe('rejected')),
      ]);

      const w2 = fx.cluster.process('w2');
      w2.kill('SIGSTOP');
      let resumedAt = Number.POSITIVE_INFINITY;
      const resume = (): void => {
        if (resumedAt === Number.POSITIVE_INFINITY) resumedAt = Date.now();
        w2.kill('SIGCONT');
      };
      try {
        // w1 and w3 claim every partition w2 held (Postgres names them, under newer epochs).
        await waitFor(
          async () => {
            const view = await fx.cluster.view('w1');
            return held.every((p) => ['w1', 'w3'].includes(view.partitions.find((x) => x.partition === p)?.owner ?? ''));
          },
          { what: `w1 and w3 to claim w2's ${held.length} partitions`, timeoutMs: 30_000, intervalMs: 50 },
        );
        // The truth moves on without w2: known turnstiles advance, fresh ones get installed.
        const moved = await Promise.all([
          ...known.map((id) => truth.send(fx.client, id, 'pushArm', truth.versions.get(id))),
          ...fresh.map((id) => truth.send(fx.client, id, 'install', 0)),
        ]);
        expect(moved.map(told).filter((t) => !t.startsWith('ok'))).toEqual([]);

        // Probes that stale memory would answer wrongly: a conflict (w2 believes an older version)
        // and a rejection (w2 believes "not installed"). Some are queued for the stopped w2.
        const probes = [
          ...known.map((id) => ({
            id,
            expected: truth.versions.get(id)!,
            promise: truth.send(patient, id, 'insertCoin', truth.versions.get(id)),
          })),
          ...fresh.map((id) => ({ id, expected: truth.versions.get(id)!, promise: truth.send(patient, id, 'insertCoin') })),
        ];
        let answered = 0;
        for (const p of probes) void p.promise.then(() => (answered += 1));
        // Those the new owners got are answered at once; the rest wait in w2's socket.
        let seen = -1;
        let steadySince = 0;
        await waitFor(
          async () => {
            if (answered !== seen) [seen, steadySince] = [answered, Date.now()];
            return answered > 0 && Date.now() - steadySince >= 2_000;
          },
          { what: 'the new owners to answer their share of the probes, and no more answers for 2 s', timeoutMs: 30_000, intervalMs: 100 },
        );
        const queuedAtW2 = probes.length - answered;
        console.log(`round ${round}: ${queuedAtW2} of ${probes.length} probes queued for the paused w2`);
        expect(queuedAtW2).toBeGreaterThan(0);

        resume();
        for (const p of probes) {
          const r = await p.promise;
          if (r.status !== 'ok' || r.version !== p.expected + 1)
            wrong.push(`round ${round}: ${p.id} (at v${p.expected}) was told ${told(r)}`);
        }
      } finally {
        resume();
      }
      expect(wrong).toEqual([]);
      // Its first renewal after the pause finds every partition it held under a newer epoch.
      const lapse = await waitFor(
        // The first lapse logged after the pause (a loaded machine may log short lapses before it, losing nothing).
        async () => w2.logs.find((l) => l.msg === 'partition leases renewed after a lapse' && Number(l.time) >= resumedAt - 50) ?? false,
        { what: 'w2 to renew its leases after the pause', timeoutMs: 20_000 },
      );
      console.log(
        `round ${round}: w2 resumed ${String(lapse.lapsedMs)} ms past its lease; its first renewal took ${String(lapse.renewalMs)} ms ` +
          `(${String(lapse.refused)} commands answered UNAVAILABLE meanwhile) and found ${String(lapse.lost)} of ${held.length} partitions taken over`,
      );
      expect(lapse.lost).toBe(held.length);
      expect((await fx.cluster.stats('w2')).fencedWrites).toBe(0);

      // w2 rejoins: its share flows back by handover (A → B → A) before the next round.
      views = await waitSettled(fx.cluster, IDS, 60_000);
    }

    const check = await checkStore(fx.db.url, truth.records);
    expect(check.lost).toEqual([]);
    expect(check.gaps).toEqual([]);
    expect(check.duplicated).toEqual([]);
    expect(epochRegressions(await eventEpochs(fx.db.url))).toEqual([]);
  }, 300_000);
});
