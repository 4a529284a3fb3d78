import { LauncherError, LauncherErrorCode } from './launcher-error.js';
import { readNatsInfo } from './nats-info.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';
import { checkPostgres } from './postgres-ready.js';
import { startPostgresServer, type PostgresServerHandle } from './postgres-server.js';
import { waitFor } from './wait-for.js';

/** Options of {@link ensureTestServers}. */
export interface TestServersOptions {
  /** Fail when a server is missing, instead of warning. Default: the CI env var is set and not "false"/"0". */
  readonly ci?: boolean;
  /** How long a server named by DATABASE_URL / NATS_URL may take to answer, in ms. Default 10 000. */
  readonly verifyTimeoutMs?: number;
  /** Where the one summary line (and warnings) go. Default `console.log`. */
  readonly log?: (line: string) => void;
}

/** The servers the test run uses; `teardown()` stops the ones this run started. */
export interface TestServers {
  /** Postgres URL now in `process.env.DATABASE_URL`, or undefined when none is available (outside CI only). */
  readonly databaseUrl: string | undefined;
  /** NATS URL now in `process.env.NATS_URL`, or undefined when none is available (outside CI only). */
  readonly natsUrl: string | undefined;
  /** Stop the servers started here and unset the env vars they filled in. Idempotent. */
  teardown(): Promise<void>;
}

interface Shared {
  refs: number;
  ready: Promise<Started>;
}

interface Started {
  readonly databaseUrl: string | undefined;
  readonly natsUrl: string | undefined;
  readonly stop: () => Promise<void>;
}

// vitest runs the global setup once per project in the same process (and may load this module
// once per project), so the servers are shared through globalThis and stopped by the last teardown.
const KEY = Symbol.for('@ratchet/testing/test-servers');
type Registry = { [KEY]?: Shared };

/**
 * Make Postgres and NATS available to a test run, for vitest's global setup.
 * DATABASE_URL / NATS_URL, when set, must answer (else this throws). When unset, a Postgres and a
 * nats-server are started from the binaries on PATH into temp dirs and the env vars are set so test
 * workers inherit them. A missing binary throws under CI and warns otherwise (integration tests then
 * fail on the missing env var); nothing is skipped silently. On a machine with a Docker engine but no
 * binaries, start containers yourself and set the two env vars.
 * @example
 * // test/global-setup.ts
 * export default async function setup() {
 *   const servers = await ensureTestServers();
 *   return () => servers.teardown();
 * }
 */
export async function ensureTestServers(options: TestServersOptions = {}): Promise<TestServers> {
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

async function provide(options: TestServersOptions): Promise<Started> {
  const log = options.log ?? ((line: string) => console.log(line));
  const ci = options.ci ?? isCi();
  const verifyTimeoutMs = options.verifyTimeoutMs ?? 10_000;

  const [postgres, nats] = await Promise.allSettled([
    provideOne({
      envVar: 'DATABASE_URL',
      label: 'Postgres',
      verify: (url) => checkPostgres(url),
      start: async () => startPostgresServer(),
      ci,
      verifyTimeoutMs,
      log,
    }),
    provideOne({
      envVar: 'NATS_URL',
      label: 'NATS',
      verify: (url) => readNatsInfo(url),
      start: async () => startNatsServer(),
      ci,
      verifyTimeoutMs,
      log,
    }),
  ]);
  const stop = async (): Promise<void> => {
    await Promise.all(
      [postgres, nats].map((r) => (r.status === 'fulfilled' ? r.value.stop() : Promise.resolve())),
    );
  };
  const failure = [postgres, nats].find((r) => r.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }
  const pg = (postgres as PromiseFulfilledResult<Provided>).value;
  const nt = (nats as PromiseFulfilledResult<Provided>).value;
  log(`[ratchet] test servers: Postgres ${pg.summary} · NATS ${nt.summary}`);
  return { databaseUrl: pg.url, natsUrl: nt.url, stop };
}

interface Provided {
  readonly url: string | undefined;
  readonly summary: string;
  readonly stop: () => Promise<void>;
}

interface ProvideOne {
  readonly envVar: 'DATABASE_URL' | 'NATS_URL';
  readonly label: string;
  readonly verify: (url: string) => Promise<unknown>;
  readonly start: () => Promise<PostgresServerHandle | NatsServerHandle>;
  readonly ci: boolean;
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
        `${p.envVar}=${redact(given)} is set but ${p.label} does not answer there; start it, fix the URL, or unset ${p.envVar} to let the tests start their own`,
        { code: LauncherErrorCode.UNREACHABLE, cause: error },
      );
    }
    return { url: given, summary: `${redact(given)} (from ${p.envVar})`, stop: async () => undefined };
  }
  let server: PostgresServerHandle | NatsServerHandle;
  try {
    server = await p.start();
  } catch (error) {
    if (!p.ci && error instanceof LauncherError && error.code === LauncherErrorCode.NOT_FOUND) {
      p.log(`[ratchet] WARNING: no ${p.label} for integration tests (${p.envVar} unset): ${error.message}`);
      return { url: undefined, summary: 'none (integration tests will fail)', stop: async () => undefined };
    }
    throw new LauncherError(`${p.envVar} is unset and starting a ${p.label} for the tests failed`, {
      code: error instanceof LauncherError ? error.code : LauncherErrorCode.START_FAILED,
      cause: error,
      log: error instanceof Error ? error.message : String(error),
    });
  }
  process.env[p.envVar] = server.url;
  return {
    url: server.url,
    summary: `${server.url} (started, pid ${server.pid})`,
    stop: async () => {
      if (process.env[p.envVar] === server.url) delete process.env[p.envVar];
      await server.stop();
    },
  };
}

function isCi(): boolean {
  const ci = process.env['CI'];
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
