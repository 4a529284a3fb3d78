import { envBool, envInt, envLogLevel, envMasterKey } from '@ratchet/ops';
import { z } from 'zod';

/** The worker process's environment, validated. Every variable and default is listed in docs/operations.md. */
export const WorkerConfigSchema = z.object({
  /** The app module to serve (its aggregates), relative to the working directory; default the turnstile app. A path argument wins over it. */
  RATCHET_APP: z.string().optional(),
  NATS_URL: z.string().min(1, 'NATS_URL is required (e.g. nats://127.0.0.1:4222)'),
  DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL'),
  /** Wraps the subject keys of sensitive fields (docs/sensitive-data.md); unset: stored unwrapped. */
  RATCHET_MASTER_KEY: envMasterKey,
  WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  RATCHET_PARTITIONS: envInt(1, 64).pipe(z.number().max(4096)),
  CLUSTER_MODE: z.enum(['membership', 'static']).default('membership'),
  HEARTBEAT_INTERVAL_MS: envInt(50, 1_000),
  MEMBER_TTL_MS: envInt(200, 5_000),
  MOVES_PER_SECOND: envInt(1, 32),
  HANDOVER_TIMEOUT_MS: envInt(0, 5_000),
  /** Take a crashed member's partitions as soon as NATS says its connection is gone, not after its TTL and lease. */
  FAST_FAILOVER: envBool(true),
  PEER_CHECK_INTERVAL_MS: envInt(50, 250),
  /** Partition lease (ms); default MEMBER_TTL_MS, so a crashed member's leases are over when it leaves the member set. */
  PARTITION_LEASE_TTL_MS: z.coerce.number().int().min(250).optional(),
  HTTP_PORT: envInt(0, 8080).pipe(z.number().max(65535)),
  LOG_LEVEL: envLogLevel,
  PG_POOL_SIZE: envInt(1, 8),
  SNAPSHOT_EVERY: envInt(1, 100),
  MAX_RESIDENT_ACTORS: envInt(1, 100_000),
  MAX_PASSIVATED_ACTORS: envInt(0, 1_000_000),
  IDLE_TIMEOUT_MS: envInt(100, 300_000),
  MAX_IN_FLIGHT: envInt(1, 4_096),
  MAX_REQUEST_BYTES: envInt(256, 65_536),
  GROUP_COMMIT_WINDOW_MS: envInt(0, 0),
  GROUP_COMMIT_MAX_BATCH: envInt(1, 256),
  GROUP_COMMIT_CONCURRENCY: envInt(1, 2),
  RELAY_ENABLED: envBool(true),
  RELAY_LEASE_TTL_MS: envInt(500, 5_000),
  /** Replicas of what the worker creates in JetStream (the RATCHET_EVENTS stream, the membership bucket): 1 on one server, 3 on a 3-node cluster. */
  JETSTREAM_REPLICAS: envInt(1, 1).pipe(z.number().max(5)),
  DRAIN_TIMEOUT_MS: envInt(0, 10_000),
});

/** The worker process's validated config. */
export type WorkerConfig = z.output<typeof WorkerConfigSchema>;
