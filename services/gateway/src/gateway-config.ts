import { envInt, envLogLevel } from '@ratchet/ops';
import { z } from 'zod';

/** The gateway process's environment, validated. Every variable and default is listed in docs/operations.md. */
export const GatewayConfigSchema = z.object({
  /** The app module (`defineApp` default export); default the turnstile app. */
  RATCHET_APP: z.string().optional(),
  NATS_URL: z.string().min(1, 'NATS_URL is required (e.g. nats://127.0.0.1:4222)'),
  /** The read-model database, only for `?waitFor=`: without it, every waitFor is refused. */
  DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL').optional(),
  RATCHET_PARTITIONS: envInt(1, 64).pipe(z.number().max(4096)),
  HTTP_PORT: envInt(0, 8082).pipe(z.number().max(65535)),
  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: envLogLevel,
  PG_POOL_SIZE: envInt(1, 4),
  GATEWAY_MAX_BODY_BYTES: envInt(256, 65_536),
  GATEWAY_MAX_IN_FLIGHT: envInt(1, 256),
  /** Reading the body and the send with its retries, per request. */
  GATEWAY_REQUEST_TIMEOUT_MS: envInt(100, 5_000),
  /** One NATS request attempt; the client retries within GATEWAY_REQUEST_TIMEOUT_MS. */
  GATEWAY_ATTEMPT_TIMEOUT_MS: envInt(50, 1_000),
  GATEWAY_WAIT_FOR_TIMEOUT_MS: envInt(1, 2_000),
  GATEWAY_RETRY_AFTER_SECONDS: envInt(1, 1),
  DRAIN_TIMEOUT_MS: envInt(0, 10_000),
});

/** The gateway process's validated config. */
export type GatewayConfig = z.output<typeof GatewayConfigSchema>;
