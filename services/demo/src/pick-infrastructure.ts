import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureServers, LauncherError, LauncherErrorCode, type Servers } from '@ratchet/launchers';
import type { Logger } from 'pino';
import type { DemoApp } from './demo-app.js';
import { startEmbeddedInfrastructure } from './embedded-infrastructure.js';
import type { Infrastructure } from './infrastructure.js';
import { NoInfrastructureError } from './no-infrastructure-error.js';
import { createServerInfrastructure } from './server-infrastructure.js';

/** Options of {@link pickInfrastructure}. */
export interface PickInfrastructureOptions {
  /** The project directory (the repo root in this repository): the service processes run from there. */
  readonly root: string;
  /** The app every process serves. */
  readonly app: DemoApp;
  /** Data directory for servers the demo starts (`<repo>/.data`). */
  readonly dataDir: string;
  /** Where the service processes' log files go. */
  readonly logDir: string;
  /** Wipe the data of the servers the demo starts first (not the logs). */
  readonly fresh: boolean;
  readonly log: Logger;
  /** Aborted on SIGINT/SIGTERM: services stop sooner. */
  readonly signal: AbortSignal;
  /** Aborted on a second Ctrl-C: the service processes are SIGKILLed at once. */
  readonly kill?: AbortSignal;
}

/**
 * Pick where the demo runs, in order: NATS_URL and DATABASE_URL when set; else nats-server and
 * Postgres started from binaries (data under `dataDir`); else embedded mode (PGlite and an
 * in-process transport, not distributed). `RATCHET_DEMO_INFRA=embedded` forces embedded mode,
 * `RATCHET_DEMO_INFRA=servers` refuses it.
 */
export async function pickInfrastructure(options: PickInfrastructureOptions): Promise<Infrastructure> {
  const mode = process.env.RATCHET_DEMO_INFRA || 'auto';
  if (mode === 'embedded')
    return startEmbeddedInfrastructure({ log: options.log, app: options.app, reason: 'RATCHET_DEMO_INFRA=embedded' });
  const storeDir = join(options.dataDir, 'nats');
  const dataDir = join(options.dataDir, 'postgres');
  if (options.fresh) {
    if (!process.env.NATS_URL) await rm(storeDir, { recursive: true, force: true });
    if (!process.env.DATABASE_URL) await rm(dataDir, { recursive: true, force: true });
  }
  // Postgres runs as its own OS user when the demo runs as root: it must be able to enter .data.
  await mkdir(options.dataDir, { recursive: true, mode: 0o755 });
  let servers: Servers;
  try {
    servers = await ensureServers({
      required: true,
      // Their own process groups: a terminal's Ctrl-C reaches the demo alone, which stops the
      // servers last, after the workers and the projector drained (not under their feet).
      nats: { storeDir, detached: true },
      postgres: { dataDir, detached: true },
      log: (line) => options.log.debug(line),
    });
  } catch (error) {
    if (!(error instanceof LauncherError) || error.code !== LauncherErrorCode.NOT_FOUND) throw error;
    // ensureServers says which env var was unset; the missing binary is said by its cause.
    const missing = error.cause instanceof LauncherError ? error.cause : error;
    if (mode === 'servers') noServers(missing);
    return startEmbeddedInfrastructure({ log: options.log, app: options.app, reason: missing.message });
  }
  return createServerInfrastructure(servers, options);
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
