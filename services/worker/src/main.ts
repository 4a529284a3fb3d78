import { hostname } from 'node:os';
import { connect } from '@nats-io/transport-node';
import { RatchetError } from '@ratchet/core';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { loadConfig, onShutdown, startOpsServer } from '@ratchet/ops';
import { Turnstile } from '@ratchet/turnstile';
import { WorkerMetrics, createWorker } from '@ratchet/worker';
import { pino } from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import { WorkerConfigSchema } from './worker-config.js';

const boot = pino({ base: { service: 'worker' } });
let config;
try {
  config = loadConfig(WorkerConfigSchema);
} catch (error) {
  boot.fatal({ err: error instanceof RatchetError ? error.toJSON() : error }, 'invalid configuration');
  process.exit(2);
}

const workerId = config.WORKER_ID ?? `${hostname()}-${process.pid}`;
const log = pino({ level: config.LOG_LEVEL, base: { service: 'worker', worker: workerId } });
const metrics = new WorkerMetrics();
collectDefaultMetrics({ register: metrics.registry });

const nats = await connect({ servers: config.NATS_URL.split(','), name: `ratchet-worker-${workerId}`, maxReconnectAttempts: -1 });
const store = createPostgresEventStore({ connectionString: config.DATABASE_URL, poolSize: config.PG_POOL_SIZE });
await store.migrate();

const worker = createWorker({
  nats,
  store,
  aggregates: [Turnstile],
  workerId,
  partitionCount: config.RATCHET_PARTITIONS,
  snapshotEvery: config.SNAPSHOT_EVERY,
  maxResidentActors: config.MAX_RESIDENT_ACTORS,
  idleTimeoutMs: config.IDLE_TIMEOUT_MS,
  maxInFlight: config.MAX_IN_FLIGHT,
  maxRequestBytes: config.MAX_REQUEST_BYTES,
  groupCommit: {
    windowMs: config.GROUP_COMMIT_WINDOW_MS,
    maxBatchSize: config.GROUP_COMMIT_MAX_BATCH,
    maxConcurrentBatches: config.GROUP_COMMIT_CONCURRENCY,
  },
  relay: config.RELAY_ENABLED,
  relayLeaseTtlMs: config.RELAY_LEASE_TTL_MS,
  logger: log,
  metrics,
});
await worker.start();

const ops = await startOpsServer({
  port: config.HTTP_PORT,
  healthy: () => !nats.isClosed(),
  ready: () => worker.ready && !nats.isClosed(),
  registry: metrics.registry,
  routes: { '/stats': () => worker.stats() },
});
log.info({ httpPort: ops.port, pid: process.pid }, 'worker ready');

onShutdown(log, async () => {
  const drained = await worker.drain(config.DRAIN_TIMEOUT_MS);
  if (!drained) log.warn('drain deadline passed with commands still in flight');
  await ops.close();
  await nats.drain();
  await store.close();
});
