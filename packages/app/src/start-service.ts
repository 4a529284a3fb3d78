import { fileURLToPath } from 'node:url';
import { RatchetError } from '@ratchet/core';
import { loadConfig } from '@ratchet/ops';
import { pino, type Logger } from 'pino';
import type { z } from 'zod';
import type { App } from './app.js';
import { loadApp } from './load-app.js';

/** What every service's config holds for its start-up. */
export interface ServiceConfig {
  /** The app module, unless `main.ts <path>` names one. */
  readonly RATCHET_APP?: string | undefined;
  readonly LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Options of {@link startService}. */
export interface StartServiceOptions<S extends z.ZodType<ServiceConfig>> {
  /** The service's name, in every log line (`service`). */
  readonly service: string;
  /** The service's environment variables. */
  readonly schema: S;
  /**
   * The app when neither `main.ts <path>` nor RATCHET_APP names one, as a module URL; asked only
   * then, and resolved from the service's own dependencies:
   * `() => import.meta.resolve('@ratchet/turnstile-app')` (src in development, dist when built).
   */
  readonly defaultApp: () => string;
  /** Fields of the service's logger besides `service`, given the config. Default `{ pid }`. */
  readonly logFields?: (config: z.output<S>) => Record<string, unknown>;
}

/** A started service: its config, its app, its logger. */
export interface StartedService<C> {
  readonly config: C;
  readonly app: App;
  /** The absolute path of the app module. */
  readonly appFile: string;
  /** The service's logger, at LOG_LEVEL. */
  readonly log: Logger;
  /** Refuse to start: one fatal line on the start-up logger, then exit 2 (as for a bad config or app). */
  readonly fatal: (fields: Record<string, unknown>, message: string) => never;
}

/**
 * The start-up every service shares: read the config (a bad one: a fatal `invalid configuration`
 * line, exit 2), load the app — `main.ts <path>`, else RATCHET_APP, else `defaultApp` — (one that
 * fails to load: a fatal line naming the file and the problem, exit 2), then make the service's
 * logger.
 * @example
 * const { config, app, appFile, log } = await startService({
 *   service: 'gateway',
 *   schema: GatewayConfigSchema,
 *   defaultApp: () => import.meta.resolve('@ratchet/turnstile-app'),
 * });
 */
export async function startService<S extends z.ZodType<ServiceConfig>>(
  options: StartServiceOptions<S>,
): Promise<StartedService<z.output<S>>> {
  const boot = pino({ base: { service: options.service } });
  const fatal = (fields: Record<string, unknown>, message: string): never => {
    boot.fatal(fields, message);
    process.exit(2);
  };
  let config: z.output<S>;
  try {
    config = loadConfig(options.schema);
  } catch (error) {
    return fatal({ err: error instanceof RatchetError ? error.toJSON() : error }, 'invalid configuration');
  }
  const appPath = process.argv[2] ?? config.RATCHET_APP ?? fileURLToPath(options.defaultApp());
  let loaded: Awaited<ReturnType<typeof loadApp>>;
  try {
    loaded = await loadApp(appPath);
  } catch (error) {
    if (error instanceof RatchetError) return fatal({ code: error.code, ...error.details }, error.message);
    return fatal({ err: error }, `app module ${appPath}: ${String(error)}`);
  }
  const fields = options.logFields?.(config) ?? { pid: process.pid };
  const log = pino({ level: config.LOG_LEVEL, base: { service: options.service, ...fields } });
  return { config, app: loaded.app, appFile: loaded.file, log, fatal };
}
