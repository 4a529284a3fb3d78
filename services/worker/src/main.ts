import { hostname } from 'node:os';
import { connect } from '@nats-io/transport-node';
import { startService } from '@ratchet/app/service';
import { assignPartitions, createMembership, describeCluster, natsPeerLiveness, type Membership } from '@ratchet/cluster';
import { hasSensitiveFields } from '@ratchet/core';
import { createPostgresEventStore, parseMasterKey } from '@ratchet/event-store-postgres';
import { exitWithParent, onShutdown, retryAtStart, startOpsServer } from '@ratchet/ops';
import { natsConnectOptions } from '@ratchet/transport-nats';
import { WorkerMetrics, createWorker, type Worker } from '@ratchet/worker';
import { collectDefaultMetrics } from 'prom-client';
import { type WorkerConfig, WorkerConfigSchema } from './worker-config.js';

/** This worker's id: WORKER_ID, else host and pid. */
const workerIdOf = (c: WorkerConfig): string => c.WORKER_ID ?? `${hostname()}-${process.pid}`;
const { config, app, appFile, log } = await startService({
  service: 'worker',
  schema: WorkerConfigSchema,
  defaultApp: () => import.meta.resolve('@ratchet/turnstile-app'),
  logFields: (c) => ({ worker: workerIdOf(c) }),
});
const workerId = workerIdOf(config);
log.info({ app: app.name, file: appFile, aggregates: app.aggregates.map((a) => a.type) }, 'app loaded');
const metrics = new WorkerMetrics();
collectDefaultMetrics({ register: metrics.registry });

const nats = await retryAtStart(
  'connecting to NATS',
  () => connect({ ...natsConnectOptions(config.NATS_URL), name: `ratchet-worker-${workerId}`, maxReconnectAttempts: -1 }),
  log,
);
const masterKey = config.RATCHET_MASTER_KEY === undefined ? undefined : parseMasterKey(config.RATCHET_MASTER_KEY);
if (masterKey === undefined && app.aggregates.some(hasSensitiveFields)) {
  log.warn(
    { aggregates: app.aggregates.filter(hasSensitiveFields).map((a) => a.type) },
    'RATCHET_MASTER_KEY is not set: the keys of sensitive fields are stored unwrapped (docs/sensitive-data.md)',
  );
}
const store = createPostgresEventStore({ connectionString: config.DATABASE_URL, poolSize: config.PG_POOL_SIZE, masterKey });
await retryAtStart('migrating the event store', () => store.migrate(), log);

// Declared before the ops server so its routes answer (not ready) while the worker starts.
let worker: Worker | undefined;
const ops = await startOpsServer({
  port: config.HTTP_PORT,
  healthy: () => !nats.isClosed(),
  ready: () => worker?.ready === true && !nats.isClosed(),
  registry: metrics.registry,
  routes: {
    '/stats': () => worker?.stats() ?? {},
    '/cluster': async () => {
      const epochs = await store.partitionEpochs();
      const assignment = worker?.assignment() ?? [];
      return {
        workerId,
        mode: config.CLUSTER_MODE,
        members: membership === undefined ? [workerId] : describeCluster(membership.records(), assignment).members,
        partitions: epochs.map((e) => ({
          partition: e.partition,
          owner: e.owner,
          epoch: e.epoch,
          assignedTo: assignment[e.partition] ?? null,
        })),
        owned: worker?.ownedPartitions() ?? [],
      };
    },
  },
});

let membership: Membership | undefined;
if (config.CLUSTER_MODE === 'membership') {
  membership = await createMembership({
    nats,
    workerId,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    ttlMs: config.MEMBER_TTL_MS,
    replicas: config.JETSTREAM_REPLICAS,
    logger: log,
    info: { httpPort: ops.port, pid: process.pid },
  });
}

worker = createWorker({
  nats,
  jetstream: nats,
  store,
  aggregates: app.aggregates,
  workerId,
  partitionCount: config.RATCHET_PARTITIONS,
  partitionLeaseMs: config.PARTITION_LEASE_TTL_MS ?? config.MEMBER_TTL_MS,
  ...(membership === undefined
    ? {}
    : {
        cluster: {
          membership,
          assign: assignPartitions,
          movesPerSecond: config.MOVES_PER_SECOND,
          handoverTimeoutMs: config.HANDOVER_TIMEOUT_MS,
          ...(config.FAST_FAILOVER ? { peers: natsPeerLiveness(nats), peerCheckIntervalMs: config.PEER_CHECK_INTERVAL_MS } : {}),
        },
      }),
  snapshotEvery: config.SNAPSHOT_EVERY,
  maxResidentActors: config.MAX_RESIDENT_ACTORS,
  maxPassivatedActors: config.MAX_PASSIVATED_ACTORS,
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
  eventsStreamReplicas: config.JETSTREAM_REPLICAS,
  logger: log,
  metrics,
});
try {
  await worker.start();
} catch (err) {
  // Exit non-zero with one structured line; the supervisor (compose, Kubernetes) starts it again.
  log.fatal({ err }, 'worker could not start');
  await store.close().catch(() => undefined);
  process.exit(1);
}
const started = worker;
log.info({ httpPort: ops.port, pid: process.pid, mode: config.CLUSTER_MODE, app: app.name }, 'worker ready');

// Launched by the demo or a test harness: do not outlive it.
exitWithParent(log, () => process.kill(process.pid, 'SIGTERM'));
onShutdown(log, async () => {
  const drained = await started.drain(config.DRAIN_TIMEOUT_MS);
  if (!drained) log.warn('drain deadline passed with commands still in flight');
  await ops.close();
  await nats.drain();
  await store.close();
});
