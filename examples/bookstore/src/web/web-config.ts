import { envInt, envLogLevel } from '@ratchet/ops';
import { z } from 'zod';

/** The bookstore page's environment (web.ts), validated. Listed in examples/bookstore/README.md. */
export const WebConfigSchema = z.object({
  /** The read models' database (the projector's), for the lists. */
  DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL'),
  /** The HTTP command gateway the forms' commands go to (services/gateway). */
  GATEWAY_URL: z.string().url('GATEWAY_URL must be an http:// URL').default('http://127.0.0.1:8082'),
  /** The page's port; 0 picks a free one (logged). */
  HTTP_PORT: envInt(0, 8088).pipe(z.number().max(65535)),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** Budget of one request to the gateway, in ms. */
  GATEWAY_TIMEOUT_MS: envInt(100, 10_000),
  LOG_LEVEL: envLogLevel,
  PG_POOL_SIZE: envInt(1, 4),
});

/** The bookstore page's validated config. */
export type WebConfig = z.output<typeof WebConfigSchema>;
