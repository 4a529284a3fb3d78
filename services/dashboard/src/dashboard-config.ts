import { envBool, envLogLevel, envMasterKey } from '@ratchet/ops';
import { z } from 'zod';

/** The dashboard process's environment, validated. */
export const DashboardConfigSchema = z.object({
  /** The app module the workers serve, relative to the working directory; default the turnstile app. A path argument wins over it. */
  RATCHET_APP: z.string().optional(),
  NATS_URL: z.string().min(1, 'NATS_URL is required (e.g. nats://127.0.0.1:4222)'),
  DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL'),
  /** Opens sealed sensitive values on the time-travel page (docs/sensitive-data.md): the workers' master key. */
  RATCHET_MASTER_KEY: envMasterKey,
  /** Page and API port (0 = any free port, logged). */
  HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(8090),
  /** Address to listen on. */
  HTTP_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: envLogLevel,
  /** How often the page's data is refreshed, in ms. */
  TICK_MS: z.coerce.number().int().min(100).max(10_000).default(500),
  /** The demo launcher's control endpoint (workers, kill/add, simulator stats); absent outside the demo. */
  DEMO_CONTROL_URL: z.string().url().optional(),
  /** Ops URLs of the workers when there is no demo launcher, comma-separated (e.g. http://10.0.0.5:8080). */
  WORKER_URLS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== ''),
    ),
  /** False in embedded mode: the page says "not distributed". */
  DEMO_DISTRIBUTED: envBool(true),
  /** Where the servers are, shown on the page. */
  DEMO_INFRASTRUCTURE: z.string().default(''),
  /** Read-model views schema. */
  VIEW_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('public'),
  /** Event store schema. */
  STORE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('ratchet'),
});

/** The dashboard's validated config. */
export type DashboardConfig = z.output<typeof DashboardConfigSchema>;
