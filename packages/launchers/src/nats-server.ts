import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './find-executable.js';
import { LauncherError, LauncherErrorCode } from './launcher-error.js';
import { readNatsInfo } from './nats-info.js';
import { onFreePort } from './on-free-port.js';
import { RestartableServer } from './restartable-server.js';
import type { ServerHandle } from './server-handle.js';
import { ServerProcess } from './server-process.js';
import { waitFor } from './wait-for.js';

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Enable JetStream (`-js`). Default true. */
  readonly jetstream?: boolean;
  /** JetStream store directory, created if missing and kept by `stop()`. Default: a new temp dir, removed by `stop()`. */
  readonly storeDir?: string;
  /** Client port on 127.0.0.1. Default: a free port. */
  readonly port?: number;
  /** Extra config file passed with `-c`; the launcher's command-line flags win over it. */
  readonly config?: string;
  /** The nats-server binary. Default: `nats-server` on PATH, then /usr/sbin, /usr/local/bin. */
  readonly binary?: string;
  /** How long to wait for the server to answer, in ms. Default 20 000. */
  readonly startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL, in ms. Default 10 000. */
  readonly stopTimeoutMs?: number;
  /**
   * Run the server in a process group of its own: a terminal's Ctrl-C then reaches only the program
   * that started it, which stops it after whatever still uses it (the demo does). Default false.
   */
  readonly detached?: boolean;
}

/** A nats-server started by {@link startNatsServer}: `url` is `nats://127.0.0.1:<port>`, `stop()` sends SIGTERM. */
export interface NatsServerHandle extends ServerHandle {
  /** JetStream store directory; kept across `restart()`. */
  readonly storeDir: string;
}

const FALLBACK_DIRS = ['/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];

/**
 * Start a nats-server (JetStream on by default) on a free port with a temp store; resolves once it answers.
 * @example
 * const nats = await startNatsServer();
 * try {
 *   // connect to nats.url
 * } finally {
 *   await nats.stop();
 * }
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = options.binary ?? findExecutable('nats-server', FALLBACK_DIRS);
  if (binary === undefined) {
    throw new LauncherError(
      `nats-server not found on PATH nor in ${FALLBACK_DIRS.join(', ')}: install it (apt-get install nats-server) or set NATS_URL`,
      { code: LauncherErrorCode.NOT_FOUND },
    );
  }
  const ownStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), 'ratchet-nats-')));
  if (!ownStore) await mkdir(storeDir, { recursive: true });
  try {
    return await onFreePort(options.port, async (port) => {
      const server = await launch(binary, port, storeDir, options);
      return new NatsServer({ binary, port, storeDir, ownStore, options }, server);
    });
  } catch (error) {
    if (ownStore) await rm(storeDir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(binary: string, port: number, storeDir: string, options: NatsServerOptions): Promise<ServerProcess> {
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (options.config !== undefined) args.unshift('-c', options.config);
  if (options.jetstream ?? true) args.push('-js', '-sd', storeDir);
  const server = await ServerProcess.spawn(binary, args, { cwd: storeDir, detached: options.detached ?? false });
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  try {
    await waitFor(() => readNatsInfo(`nats://127.0.0.1:${port}`, 1_000), {
      what: `nats-server on port ${port}`,
      timeoutMs,
      abortIf: () => {
        if (server.hasExited) {
          throw new LauncherError(`nats-server exited during start-up (${server.describeExit()})`, { log: server.output() });
        }
      },
    });
  } catch (error) {
    await server.stop('SIGKILL', 1_000).catch(() => undefined);
    if (error instanceof LauncherError && error.log !== undefined) throw error;
    throw new LauncherError(`nats-server did not answer on port ${port}`, { cause: error, log: server.output() });
  }
  return server;
}

class NatsServer extends RestartableServer implements NatsServerHandle {
  readonly storeDir: string;

  constructor(setup: NatsServerSetup, server: ServerProcess) {
    const { binary, port, storeDir, ownStore, options } = setup;
    super(
      {
        what: 'nats-server',
        url: `nats://127.0.0.1:${port}`,
        port,
        stopSignal: 'SIGTERM',
        stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
        relaunch: () => launch(binary, port, storeDir, options),
        cleanUp: async () => {
          if (ownStore) await rm(storeDir, { recursive: true, force: true });
        },
      },
      server,
    );
    this.storeDir = storeDir;
  }
}

interface NatsServerSetup {
  readonly binary: string;
  readonly port: number;
  readonly storeDir: string;
  readonly ownStore: boolean;
  readonly options: NatsServerOptions;
}
