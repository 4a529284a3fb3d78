// What every cluster test file shares: a private nats-server (so no other file's workers join its
// cluster), a fresh database, a client that retries for 30 s, the workers, and its teardown.
import { connectClient, type RatchetClient } from '@ratchet/client';
import { startNatsServer, waitFor, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { afterAll, beforeAll } from 'vitest';
import { TestCluster } from '../support/cluster-probes.js';
import type { Load, LoadRecord } from '../support/turnstile-load.js';

/** What one cluster test file shares: a private nats-server, a fresh database, a client, the workers. */
export interface ClusterFixture {
  nats: NatsServerHandle;
  db: TestDatabase;
  client: RatchetClient;
  cluster: TestCluster;
  /** Loads stopped in teardown even when an assertion failed first. */
  readonly loads: Load[];
}

/**
 * Register beforeAll/afterAll hooks for one cluster test file: a private nats-server (so no other
 * file's workers join this cluster), a fresh database, a client that retries for 30 s.
 */
export function useClusterFixture(prefix: string): ClusterFixture {
  const fx = { loads: [] as Load[] } as unknown as ClusterFixture;
  beforeAll(async () => {
    fx.nats = await startNatsServer();
    fx.db = await createTestDatabase(prefix);
    fx.client = await connectClient({ servers: fx.nats.url, timeoutMs: 30_000 });
    fx.cluster = new TestCluster(fx.nats.url, fx.db.url);
  });
  afterAll(async () => {
    // Resume paused workers first so the load's commands get answers and the lanes end.
    for (const p of fx.cluster?.workers.values() ?? []) p.kill('SIGCONT');
    await Promise.all(fx.loads.splice(0).map((l) => l.stop()));
    await fx.cluster?.stopAll();
    await fx.client?.close();
    await fx.db?.drop();
    await fx.nats?.stop();
  });
  return fx;
}

/** Wait until the load has `n` more acknowledged commands than now. */
export async function moreAcknowledged(load: Load, n: number, timeoutMs = 60_000): Promise<void> {
  const ok = () => load.records.filter((r) => r.status === 'ok').length;
  const target = ok() + n;
  await waitFor(async () => ok() >= target, { what: `${target} acknowledged commands (have ${ok()})`, timeoutMs, intervalMs: 100 });
}

/** Commands answered with an error (the client gave up or got a non-retryable error). */
export function failed(records: readonly LoadRecord[]): LoadRecord[] {
  return records.filter((r) => r.status === 'error');
}
