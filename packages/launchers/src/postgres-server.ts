import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { findExecutable } from './find-executable.js';
import { LauncherError, LauncherErrorCode } from './launcher-error.js';
import { onFreePort } from './on-free-port.js';
import { lookupOsUser, type OsUser } from './os-user.js';
import { checkPostgres } from './postgres-ready.js';
import { RestartableServer } from './restartable-server.js';
import type { ServerHandle } from './server-handle.js';
import { ServerProcess } from './server-process.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

/** Options of {@link startPostgresServer}. */
export interface PostgresServerOptions {
  /** TCP port on 127.0.0.1. Default: a free port. */
  readonly port?: number;
  /** Data directory; initdb runs when it holds no cluster yet. Default: a new temp dir, removed by `stop()`. */
  readonly dataDir?: string;
  /**
   * Keep `fsync` on. Default false: a local server only needs to survive its process being killed,
   * which the OS page cache already covers; only an OS crash needs fsync.
   */
  readonly fsync?: boolean;
  /** Extra server settings passed as `-c name=value`. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /** Directory holding initdb and postgres. Default: PATH, then `pg_config --bindir`, then /usr/lib/postgresql/<newest>/bin. */
  readonly binDir?: string;
  /** OS user to run initdb and postgres as when this process is root (Postgres refuses root). Default "postgres". */
  readonly osUser?: string;
  /** How long to wait for the server to accept queries, in ms. Default 30 000. */
  readonly startTimeoutMs?: number;
  /** How long `stop()` waits after a fast shutdown (SIGINT) before SIGKILL, in ms. Default 15 000. */
  readonly stopTimeoutMs?: number;
  /**
   * Run the server in a process group of its own: a terminal's Ctrl-C (SIGINT, Postgres' fast
   * shutdown) then reaches only the program that started it, which stops it after whatever still
   * uses it (the demo does). Default false.
   */
  readonly detached?: boolean;
}

/**
 * A Postgres started by {@link startPostgresServer}: `url` is the `postgres` database as superuser
 * `postgres` (trust auth), `stop()` is a fast shutdown (SIGINT, as `pg_ctl stop -m fast`).
 */
export interface PostgresServerHandle extends ServerHandle {
  /** Data directory; kept across `restart()`. */
  readonly dataDir: string;
}

interface PostgresSetup {
  readonly binDir: string;
  readonly port: number;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly tempRoot: string;
  readonly user: OsUser | undefined;
  readonly options: PostgresServerOptions;
}

/**
 * Start a throwaway Postgres: initdb into a temp dir, postgres on a free port of 127.0.0.1 with its
 * unix socket in that dir and trust auth; resolves once it answers `SELECT 1`.
 * @example
 * const pg = await startPostgresServer();
 * try {
 *   // connect to pg.url
 * } finally {
 *   await pg.stop();
 * }
 */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServerHandle> {
  const binDir = options.binDir ?? (await findPostgresBinDir());
  const user = process.getuid?.() === 0 ? lookupOsUser(options.osUser ?? 'postgres') : undefined;
  const tempRoot = await mkdtemp(join(tmpdir(), 'ratchet-pg-'));
  try {
    if (user) await chown(tempRoot, user.uid, user.gid);
    const dataDir = options.dataDir ?? join(tempRoot, 'data');
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await initdb(binDir, dataDir, user);
    return await onFreePort(options.port, async (port) => {
      const setup: PostgresSetup = { binDir, port, dataDir, socketDir: tempRoot, tempRoot, user, options };
      // On a port we picked, a failed start is not retried in place: onFreePort moves to another port.
      return new PostgresServer(setup, await launch(setup, options.port === undefined ? 1 : undefined));
    });
  } catch (error) {
    await rm(tempRoot, { recursive: true, force: true });
    throw error;
  }
}

async function findPostgresBinDir(): Promise<string> {
  const onPath = findExecutable('postgres');
  if (onPath !== undefined && findExecutable('initdb') !== undefined) return dirname(onPath);
  const pgConfig = findExecutable('pg_config');
  if (pgConfig !== undefined) {
    try {
      const { stdout } = await run(pgConfig, ['--bindir']);
      const dir = stdout.trim();
      if (existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) return dir;
    } catch {
      // fall through to the Debian layout
    }
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(debian, versions[0], 'bin');
  }
  throw new LauncherError(
    'Postgres binaries (initdb, postgres) not found on PATH, via pg_config or in /usr/lib/postgresql/*/bin: install postgresql or set DATABASE_URL',
    { code: LauncherErrorCode.NOT_FOUND },
  );
}

async function initdb(binDir: string, dataDir: string, user: OsUser | undefined): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (user) await chown(dataDir, user.uid, user.gid);
  const args = ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'];
  try {
    await run(join(binDir, 'initdb'), args, { cwd: dataDir, uid: user?.uid, gid: user?.gid, env: serverEnv() });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new LauncherError(`initdb failed for ${dataDir}: ${e.message.split('\n')[0] ?? ''}`, {
      cause: error,
      log: `${e.stdout ?? ''}\n${e.stderr ?? ''}`,
    });
  }
}

/** Postgres reads PG* variables in some tools; the caller's must not leak into the server. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
  return { ...env, LC_ALL: 'C' };
}

// After a kill -9 the old backends may hold the shared memory for a moment; Postgres refuses to
// start until they are gone, so these start-up failures are retried until the deadline.
const TRANSIENT = /pre-existing shared memory block|lock file .* already exists|address already in use/i;

async function launch(setup: PostgresSetup, maxAttempts?: number): Promise<ServerProcess> {
  const { options } = setup;
  const settings: Record<string, string | number | boolean> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: setup.socketDir,
    max_connections: 200,
    fsync: options.fsync ?? false,
    ...options.settings,
  };
  const args = ['-D', setup.dataDir, '-p', String(setup.port)];
  for (const [name, value] of Object.entries(settings)) {
    args.push('-c', `${name}=${typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value)}`);
  }
  const url = `postgres://postgres@127.0.0.1:${setup.port}/postgres`;
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const server = await ServerProcess.spawn(join(setup.binDir, 'postgres'), args, {
      cwd: setup.tempRoot,
      uid: setup.user?.uid,
      gid: setup.user?.gid,
      env: serverEnv(),
      detached: options.detached ?? false,
    });
    try {
      await waitFor(() => checkPostgres(url, 1_000).then(() => true), {
        what: `Postgres on port ${setup.port}`,
        timeoutMs: Math.max(deadline - Date.now(), 0),
        intervalMs: 50,
        abortIf: () => {
          if (server.hasExited) {
            throw new LauncherError(`postgres exited during start-up (${server.describeExit()})`, { log: server.output() });
          }
        },
      });
      return server;
    } catch (error) {
      await server.stop('SIGKILL', 1_000).catch(() => undefined);
      const retry =
        server.hasExited &&
        TRANSIENT.test(server.output()) &&
        Date.now() < deadline &&
        (maxAttempts === undefined || attempt < maxAttempts);
      if (retry) {
        await delay(100);
        continue;
      }
      if (error instanceof LauncherError && error.log !== undefined) throw error;
      throw new LauncherError(`Postgres did not accept connections on port ${setup.port}`, {
        cause: error,
        log: server.output(),
      });
    }
  }
}

class PostgresServer extends RestartableServer implements PostgresServerHandle {
  readonly dataDir: string;

  constructor(setup: PostgresSetup, server: ServerProcess) {
    super(
      {
        what: 'Postgres',
        url: `postgres://postgres@127.0.0.1:${setup.port}/postgres`,
        port: setup.port,
        // SIGINT is Postgres' fast shutdown: what `pg_ctl stop -m fast` sends.
        stopSignal: 'SIGINT',
        stopTimeoutMs: setup.options.stopTimeoutMs ?? 15_000,
        relaunch: () => launch(setup),
        // The temp root holds the socket and, unless the caller chose one, the data dir.
        cleanUp: () => rm(setup.tempRoot, { recursive: true, force: true }),
      },
      server,
    );
    this.dataDir = setup.dataDir;
  }
}
