// Internal: what the nats-server and Postgres handles share: one port, successive server processes.
import { LauncherError } from './launcher-error.js';
import type { ServerHandle } from './server-handle.js';
import type { ServerProcess } from './server-process.js';

/** How a {@link RestartableServer} stops and starts its process. */
export interface RestartableServerSpec {
  /** The server's name in messages, e.g. "nats-server". */
  readonly what: string;
  readonly url: string;
  readonly port: number;
  /** The signal of an orderly shutdown (Postgres: SIGINT, its fast shutdown). */
  readonly stopSignal: NodeJS.Signals;
  /** How long to wait after `stopSignal` before SIGKILL, in ms. */
  readonly stopTimeoutMs: number;
  /** Start a new process on the same port and data. */
  readonly relaunch: () => Promise<ServerProcess>;
  /** Remove what the launcher made (temp dirs) once stopped. */
  readonly cleanUp: () => Promise<void>;
}

/** A server handle that survives `restart()`: the pid changes, the port and data stay. */
export class RestartableServer implements ServerHandle {
  readonly url: string;
  readonly port: number;
  readonly #spec: RestartableServerSpec;
  #server: ServerProcess;
  #stopped = false;

  constructor(spec: RestartableServerSpec, server: ServerProcess) {
    this.#spec = spec;
    this.#server = server;
    this.url = spec.url;
    this.port = spec.port;
  }

  /** Pid of the current server process. */
  get pid(): number {
    return this.#server.pid;
  }

  /** Send `signal` to the server by pid. */
  kill(signal: NodeJS.Signals): void {
    this.#server.signal(signal);
  }

  /** Stop the process if it still runs and start it again on the same port and data. */
  async restart(): Promise<void> {
    if (this.#stopped) throw new LauncherError(`${this.#spec.what} handle was stopped; start a new one`);
    await this.#server.stop(this.#spec.stopSignal, this.#spec.stopTimeoutMs);
    this.#server = await this.#spec.relaunch();
  }

  /** Orderly stop, SIGKILL past the deadline, wait for the exit; then clean up. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#server.stop(this.#spec.stopSignal, this.#spec.stopTimeoutMs);
    await this.#spec.cleanUp();
  }
}
