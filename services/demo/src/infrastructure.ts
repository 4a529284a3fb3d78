import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  LauncherError,
  LauncherErrorCode,
  startNatsServer,
  startPostgresServer,
  type NatsServerHandle,
  type PostgresServerHandle,
} from '@ratchet/launchers';
import type { Logger } from 'pino';
import { startEmbeddedInfrastructure } from './embedded-infrastructure.js';

/** Where the demo's NATS and Postgres come from. */
export interface Infrastructure {
  /** NATS URL for the workers and clients; absent when the runtime runs in-process (embedded). */
  readonly natsUrl?: string;
  /** Postgres URL; absent when the store runs in-process (embedded). */
  readonly databaseUrl?: string;
  /** One line for humans: where the servers are. */
  readonly label: string;
  /** False when everything runs in one process: the dashboard says "not distributed". */
  readonly distributed: boolean;
  /** Stop what this infrastructure started (nothing for servers given by env). */
  stop(): Promise<void>;
}

/** Options of {@link pickInfrastructure}. */
export interface PickInfrastructureOptions {
  /** Data directory for servers the demo starts (`<repo>/.data`). */
  readonly dataDir: string;
  /** Wipe the servers' data first (not the logs). */
  readonly fresh: boolean;
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

/** Thrown when no infrastructure can be had; the message says what to install or set. */
export class NoInfrastructureError extends Error {
  override readonly name = 'NoInfrastructureError';
}

/**
 * Pick the demo's servers, in order: NATS_URL and DATABASE_URL when set; else nats-server and
 * Postgres started from binaries (data under `dataDir`); else embedded mode (PGlite and an
 * in-process transport, not distributed). `RATCHET_DEMO_INFRA=embedded` forces embedded mode,
 * `RATCHET_DEMO_INFRA=servers` refuses it.
 */
export async function pickInfrastructure(options: PickInfrastructureOptions): Promise<Infrastructure> {
  const env = options.env ?? process.env;
  const mode = env['RATCHET_DEMO_INFRA'] || 'auto';
  if (mode === 'embedded') return startEmbeddedInfrastructure({ log: options.log, reason: 'RATCHET_DEMO_INFRA=embedded' });
  const natsUrl = env['NATS_URL'] || undefined;
  const databaseUrl = env['DATABASE_URL'] || undefined;
  if (natsUrl !== undefined && databaseUrl !== undefined) {
    return { natsUrl, databaseUrl, label: `NATS ${natsUrl}, Postgres ${redact(databaseUrl)} (from the environment)`, distributed: true, stop: async () => {} };
  }
  if (options.fresh) {
    for (const dir of ['nats', 'postgres']) await rm(join(options.dataDir, dir), { recursive: true, force: true });
  }
  let nats: NatsServerHandle | undefined;
  let postgres: PostgresServerHandle | undefined;
  try {
    if (natsUrl === undefined) {
      const storeDir = join(options.dataDir, 'nats');
      await mkdir(storeDir, { recursive: true });
      nats = await startNatsServer({ storeDir });
      options.log.info({ url: nats.url, pid: nats.pid, storeDir }, 'started nats-server');
    }
    if (databaseUrl === undefined) {
      await mkdir(options.dataDir, { recursive: true, mode: 0o755 });
      postgres = await startPostgresServer({ dataDir: join(options.dataDir, 'postgres') });
      options.log.info({ url: postgres.url, pid: postgres.pid, dataDir: postgres.dataDir }, 'started Postgres');
    }
  } catch (error) {
    await nats?.stop();
    await postgres?.stop();
    if (error instanceof LauncherError && error.code === LauncherErrorCode.NOT_FOUND) {
      if (mode === 'servers') noServers(error);
      return startEmbeddedInfrastructure({ log: options.log, reason: error.message });
    }
    throw error;
  }
  const nUrl = natsUrl ?? nats!.url;
  const dUrl = databaseUrl ?? postgres!.url;
  return {
    natsUrl: nUrl,
    databaseUrl: dUrl,
    label: `NATS ${nUrl}${nats ? ' (started by the demo)' : ''}, Postgres ${redact(dUrl)}${postgres ? ' (started by the demo)' : ''}; data in ${options.dataDir}`,
    distributed: true,
    async stop() {
      await Promise.all([nats?.stop(), postgres?.stop()]);
    },
  };
}

/** With RATCHET_DEMO_INFRA=servers and no servers to be had: say what to do. */
function noServers(cause: LauncherError): never {
  throw new NoInfrastructureError(
    [
      'No NATS and Postgres to run on, and RATCHET_DEMO_INFRA=servers refuses embedded mode.',
      `  ${cause.message}`,
      'Either set NATS_URL and DATABASE_URL to running servers, or install the binaries',
      '  (Debian/Ubuntu: apt-get install nats-server postgresql) and run `npm run demo` again.',
    ].join('\n'),
    { cause },
  );
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
