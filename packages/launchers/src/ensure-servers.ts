import { startServerContainerIfDocker, type ContainerServerKind } from './container-servers.js';
import { LauncherError, LauncherErrorCode } from './launcher-error.js';
import { readNatsInfo } from './nats-info.js';
import { startNatsServer, type NatsServerOptions } from './nats-server.js';
import { checkPostgres } from './postgres-ready.js';
import { startPostgresServer, type PostgresServerOptions } from './postgres-server.js';
import type { ServerHandle } from './server-handle.js';
import { waitFor } from './wait-for.js';

/** Options of {@link ensureServers}; while servers are shared, the first call's options hold. */
export interface EnsureServersOptions {
  /**
   * Fail when a binary is missing, instead of warning and leaving that URL undefined.
   * Default: the CI env var is set and not "false"/"0" (so CI fails, never skips).
   */
  readonly required?: boolean;
  /** How long a server named by DATABASE_URL / NATS_URL may take to answer, in ms. Default 10 000. */
  readonly verifyTimeoutMs?: number;
  /** Where the one summary line (and warnings) go. Default `console.log`. */
  readonly log?: (line: string) => void;
  /** How to start Postgres when DATABASE_URL is unset (e.g. a kept `dataDir`). Default: a temp dir, a free port. */
  readonly postgres?: PostgresServerOptions;
  /** How to start nats-server when NATS_URL is unset (e.g. a kept `storeDir`). Default: a temp store, a free port. */
  readonly nats?: NatsServerOptions;
  /** When a binary is missing and a Docker engine answers, run that server in a container (container-servers.ts). Default true. */
  readonly containers?: boolean;
}

/** The servers in use; `teardown()` stops the ones this call started. */
export interface Servers {
  /** Postgres URL now in `process.env.DATABASE_URL`, or undefined when none is available (only when not required). */
  readonly databaseUrl: string | undefined;
  /** NATS URL now in `process.env.NATS_URL`, or undefined when none is available (only when not required). */
  readonly natsUrl: string | undefined;
  /** Pid of the Postgres started here; undefined when it came from DATABASE_URL or there is none. */
  readonly postgresPid: number | undefined;
  /** Pid of the nats-server started here; undefined when it came from NATS_URL or there is none. */
  readonly natsPid: number | undefined;
  /** Where each server comes from, in one line (passwords redacted): what `log` printed. */
  readonly summary: string;
  /** Stop the servers started here and unset the env vars they filled in. Idempotent. */
  teardown(): Promise<void>;
}

interface Shared {
  refs: number;
  ready: Promise<Started>;
}

type Started = Omit<Servers, 'teardown'> & { readonly stop: () => Promise<void> };

// vitest runs the global setup once per project in the same process (and may load this module
// once per project), so the servers are shared through globalThis and stopped by the last teardown.
const KEY = Symbol.for('@ratchet/launchers/servers');
type Registry = { [KEY]?: Shared };

/**
 * Make Postgres and NATS available: for a test run's global setup, the demo or a local dev run.
 * DATABASE_URL / NATS_URL, when set, must answer (else this throws). When unset, a Postgres and a
 * nats-server are started from the binaries on PATH (into temp dirs unless told otherwise) and the
 * env vars are set so child processes inherit them. A missing binary throws when `required` (under
 * CI by default) and warns otherwise (whatever needs the server then fails on the missing env var);
 * nothing is skipped silently. When a binary is missing but a Docker engine answers, that server
 * runs in a container instead (testcontainers, host network; images from RATCHET_POSTGRES_IMAGE /
 * RATCHET_NATS_IMAGE, the local ratchet-local/* ones, or postgres:15 / nats:2.10).
 * @example
 * // test/global-setup.ts
 * export default async function setup() {
 *   const servers = await ensureServers();
 *   return () => servers.teardown();
 * }
 */
export async function ensureServers(options: EnsureServersOptions = {}): Promise<Servers> {
  const registry = globalThis as Registry;
  let shared = registry[KEY];
  if (shared === undefined) {
    shared = { refs: 0, ready: provide(options) };
    registry[KEY] = shared;
    shared.ready.catch(() => {
      if (registry[KEY] === shared) delete registry[KEY];
    });
  }
  const entry = shared;
  const started = await entry.ready;
  entry.refs += 1;
  let released = false;
  return {
    databaseUrl: started.databaseUrl,
    natsUrl: started.natsUrl,
    postgresPid: started.postgresPid,
    natsPid: started.natsPid,
    summary: started.summary,
    async teardown() {
      if (released) return;
      released = true;
      entry.refs -= 1;
      if (entry.refs > 0) return;
      if (registry[KEY] === entry) delete registry[KEY];
      await started.stop();
    },
  };
}

async function provide(options: EnsureServersOptions): Promise<Started> {
  const log = options.log ?? ((line: string) => console.log(line));
  const required = options.required ?? isCi();
  const verifyTimeoutMs = options.verifyTimeoutMs ?? 10_000;

  const [postgres, nats] = await Promise.allSettled([
    provideOne({
      envVar: 'DATABASE_URL',
      label: 'Postgres',
      verify: (url) => checkPostgres(url),
      start: async () => startPostgresServer(options.postgres),
      kind: 'postgres',
      containers: options.containers ?? true,
      required,
      verifyTimeoutMs,
      log,
    }),
    provideOne({
      envVar: 'NATS_URL',
      label: 'NATS',
      verify: (url) => readNatsInfo(url),
      start: async () => startNatsServer(options.nats),
      kind: 'nats',
      containers: options.containers ?? true,
      required,
      verifyTimeoutMs,
      log,
    }),
  ]);
  const stop = async (): Promise<void> => {
    await Promise.all([postgres, nats].map((r) => (r.status === 'fulfilled' ? r.value.stop() : Promise.resolve())));
  };
  const failures = [postgres, nats].filter((r) => r.status === 'rejected').map((r) => r.reason as unknown);
  if (failures.length > 0) {
    await stop();
    if (failures.length === 1) throw failures[0];
    // Both failed: name both (each message names its variable), not only the first.
    const first = failures[0] instanceof LauncherError ? failures[0] : undefined;
    throw new LauncherError(failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n'), {
      code: first?.code ?? LauncherErrorCode.START_FAILED,
      cause: new AggregateError(failures, 'Postgres and NATS both failed'),
    });
  }
  const pg = (postgres as PromiseFulfilledResult<Provided>).value;
  const nt = (nats as PromiseFulfilledResult<Provided>).value;
  const summary = `Postgres ${pg.summary} · NATS ${nt.summary}`;
  log(`[ratchet] servers: ${summary}`);
  return { databaseUrl: pg.url, natsUrl: nt.url, postgresPid: pg.pid, natsPid: nt.pid, summary, stop };
}

interface Provided {
  readonly url: string | undefined;
  readonly pid: number | undefined;
  readonly summary: string;
  readonly stop: () => Promise<void>;
}

interface ProvideOne {
  readonly envVar: 'DATABASE_URL' | 'NATS_URL';
  readonly label: string;
  readonly verify: (url: string) => Promise<unknown>;
  readonly start: () => Promise<ServerHandle>;
  readonly kind: ContainerServerKind;
  readonly containers: boolean;
  readonly required: boolean;
  readonly verifyTimeoutMs: number;
  readonly log: (line: string) => void;
}

async function provideOne(p: ProvideOne): Promise<Provided> {
  const given = process.env[p.envVar];
  if (given !== undefined && given !== '') {
    try {
      await waitFor(() => p.verify(given).then(() => true), {
        what: `${p.label} at ${p.envVar}=${redact(given)}`,
        timeoutMs: p.verifyTimeoutMs,
        intervalMs: 200,
      });
    } catch (error) {
      throw new LauncherError(
        `${p.envVar}=${redact(given)} is set but ${p.label} does not answer there; start it, fix the URL, or unset ${p.envVar} to have one started`,
        { code: LauncherErrorCode.UNREACHABLE, cause: error },
      );
    }
    return { url: given, pid: undefined, summary: `${redact(given)} (from ${p.envVar})`, stop: async () => undefined };
  }
  let server: ServerHandle;
  let started = 'started';
  try {
    server = await p.start();
  } catch (error) {
    const missing = error instanceof LauncherError && error.code === LauncherErrorCode.NOT_FOUND;
    const container = missing && p.containers ? await startServerContainerIfDocker(p.kind) : undefined;
    if (container !== undefined) {
      server = container;
      started = `started in a container of ${container.image}`;
    } else {
      if (!p.required && error instanceof LauncherError && error.code === LauncherErrorCode.NOT_FOUND) {
        const noDocker = p.containers ? '; no Docker engine answers for a container either' : '';
        p.log(
          `[ratchet] WARNING: no ${p.label} (${p.envVar} unset), so what needs it (integration tests) will fail: ${error.message}${noDocker}`,
        );
        return { url: undefined, pid: undefined, summary: 'none (what needs it will fail)', stop: async () => undefined };
      }
      throw new LauncherError(`${p.envVar} is unset and starting a ${p.label} failed`, {
        code: error instanceof LauncherError ? error.code : LauncherErrorCode.START_FAILED,
        cause: error,
        log: error instanceof Error ? error.message : String(error),
      });
    }
  }
  process.env[p.envVar] = server.url;
  return {
    url: server.url,
    pid: server.pid,
    summary: `${server.url} (${started}, pid ${server.pid})`,
    stop: async () => {
      if (process.env[p.envVar] === server.url) delete process.env[p.envVar];
      await server.stop();
    },
  };
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
