import { z } from 'zod';

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

/** The worker process's environment, validated. Every variable and default is listed in docs/operations.md. */
export const WorkerConfigSchema = z.object({
  NATS_URL: z.string().min(1, 'NATS_URL is required (e.g. nats://127.0.0.1:4222)'),
  DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL'),
  WORKER_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  RATCHET_PARTITIONS: int(1, 64).pipe(z.number().max(4096)),
  CLUSTER_MODE: z.enum(['membership', 'static']).default('membership'),
  HEARTBEAT_INTERVAL_MS: int(50, 1_000),
  MEMBER_TTL_MS: int(200, 5_000),
  MOVES_PER_SECOND: int(1, 32),
  HANDOVER_TIMEOUT_MS: int(0, 5_000),
  HTTP_PORT: int(0, 8080).pipe(z.number().max(65535)),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PG_POOL_SIZE: int(1, 8),
  SNAPSHOT_EVERY: int(1, 100),
  MAX_RESIDENT_ACTORS: int(1, 100_000),
  IDLE_TIMEOUT_MS: int(100, 300_000),
  MAX_IN_FLIGHT: int(1, 4_096),
  MAX_REQUEST_BYTES: int(256, 65_536),
  GROUP_COMMIT_WINDOW_MS: int(0, 0),
  GROUP_COMMIT_MAX_BATCH: int(1, 256),
  GROUP_COMMIT_CONCURRENCY: int(1, 2),
  RELAY_ENABLED: bool(true),
  RELAY_LEASE_TTL_MS: int(500, 5_000),
  DRAIN_TIMEOUT_MS: int(0, 10_000),
});

/** The worker process's validated config. */
export type WorkerConfig = z.output<typeof WorkerConfigSchema>;
