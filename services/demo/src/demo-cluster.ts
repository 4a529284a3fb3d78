import { basename, join } from 'node:path';
import { startServiceProcess, type ServiceProcess } from '@ratchet/launchers';
import type { Logger } from 'pino';
import type { DemoWorkerInfo, ScalableWorkers } from './demo-controls.js';
import { serviceEntry, type DemoService } from './service-entry.js';

/** Options of {@link DemoCluster}. */
export interface DemoClusterOptions {
  /** The project directory (the repo root in this repository): children run from there. */
  readonly root: string;
  /** Directory for the children's log files. */
  readonly logDir: string;
  readonly natsUrl: string;
  readonly databaseUrl: string;
  readonly log: Logger;
  /** The app module every child loads (RATCHET_APP), absolute. */
  readonly app: string;
  /** Child log level. Default 'info'. */
  readonly childLogLevel?: string;
}

/**
 * The processes of a demo or `ratchet dev` run: workers, a projector, the gateway, the dashboard
 * and the app's web server, each a child process with its logs in a file; stopped by pid. Killed
 * workers stay listed (dead) so the dashboard can show them.
 */
export class DemoCluster implements ScalableWorkers {
  readonly #root: string;
  readonly #logDir: string;
  /** What every child gets: NATS, the database, its log level and the app. */
  readonly #childEnv: Readonly<Record<string, string>>;
  readonly #log: Logger;
  readonly #workers = new Map<string, ServiceProcess>();
  readonly #exits = new Map<string, number | string>();
  #others: ServiceProcess[] = [];
  #nextWorker = 1;
  #stopping = false;

  constructor(options: DemoClusterOptions) {
    this.#root = options.root;
    this.#logDir = options.logDir;
    this.#childEnv = {
      NATS_URL: options.natsUrl,
      DATABASE_URL: options.databaseUrl,
      HTTP_PORT: '0',
      LOG_LEVEL: options.childLogLevel ?? 'info',
      RATCHET_APP: options.app,
    };
    this.#log = options.log;
  }

  /** Every process started and not yet exited, for cleanup by pid. */
  get pids(): number[] {
    return [...this.#workers.values(), ...this.#others].filter((s) => s.exit === undefined).map((s) => s.pid);
  }

  /** Start one more worker (membership mode: it takes its share of partitions). */
  async addWorker(): Promise<DemoWorkerInfo> {
    if (this.#stopping) throw new Error('the demo is stopping');
    const id = `demo-worker-${this.#nextWorker++}`;
    const handle = await this.#launch(id, 'worker', 'worker ready', {
      WORKER_ID: id,
      CLUSTER_MODE: 'membership',
    });
    this.#workers.set(id, handle);
    void handle.exited.then((value) => {
      this.#exits.set(id, value);
      if (!this.#stopping) this.#log.warn({ worker: id, pid: handle.pid, exit: value }, 'worker exited');
    });
    this.#log.info({ worker: id, pid: handle.pid, httpPort: handle.ready.httpPort }, 'worker ready');
    return this.#info(id, handle);
  }

  /** SIGKILL a worker by id (a crash: its partitions fail over after the member TTL). */
  killWorker(id: string): DemoWorkerInfo | undefined {
    const handle = this.#workers.get(id);
    if (handle === undefined) return undefined;
    this.#log.warn({ worker: id, pid: handle.pid }, 'killing worker with SIGKILL');
    handle.kill('SIGKILL');
    return this.#info(id, handle);
  }

  /** The workers started so far, dead ones included. */
  workers(): DemoWorkerInfo[] {
    return [...this.#workers.entries()].map(([id, h]) => this.#info(id, h));
  }

  /** Start the projector process; resolves with its ops port. */
  async startProjector(): Promise<ServiceProcess> {
    const handle = await this.#launch('projector', 'projector', 'projector ready', {});
    this.#others.push(handle);
    this.#log.info({ pid: handle.pid, httpPort: handle.ready.httpPort }, 'projector ready');
    return handle;
  }

  /** Start the dashboard process with the given extra environment; resolves once it listens. */
  async startDashboard(env: Readonly<Record<string, string>>): Promise<ServiceProcess> {
    const handle = await this.#launch('dashboard', 'dashboard', 'dashboard ready', env);
    this.#others.push(handle);
    this.#log.info({ pid: handle.pid, httpPort: handle.ready.httpPort }, 'dashboard ready');
    return handle;
  }

  /** Start the HTTP gateway process (on 127.0.0.1) on `port`, 0 for any; resolves once it listens. */
  async startGateway(port: number): Promise<ServiceProcess> {
    const handle = await this.#launch('gateway', 'gateway', 'gateway ready', { HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' });
    this.#others.push(handle);
    this.#log.info({ pid: handle.pid, httpPort: handle.ready.httpPort }, 'gateway ready');
    return handle;
  }

  /**
   * Start the app's web server from its entry (a .ts one with tsx), with the servers', the app's
   * and the gateway's addresses in its environment; ready once `port` accepts connections.
   */
  async startWeb(entry: string, port: number, gatewayUrl: string): Promise<ServiceProcess> {
    const handle = await this.#start(
      'web',
      entry,
      { readyPort: port },
      { HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', GATEWAY_URL: gatewayUrl },
    );
    this.#others.push(handle);
    this.#log.info({ pid: handle.pid, httpPort: port, entry: basename(entry) }, 'web ready');
    return handle;
  }

  /**
   * Stop everything by pid, the last started first — the web server (its requests in flight still
   * reach the gateway), the gateway, the dashboard, the projector — then the workers together (each
   * drains and hands its partitions over). SIGKILL past `deadlineMs`.
   */
  async stop(deadlineMs = 15_000): Promise<void> {
    this.#stopping = true;
    for (const s of [...this.#others].reverse()) await s.stop(deadlineMs);
    await Promise.all([...this.#workers.values()].map((s) => s.stop(deadlineMs)));
  }

  /** SIGKILL every child at once (a second Ctrl-C). */
  killAll(): void {
    for (const s of [...this.#workers.values(), ...this.#others]) s.kill('SIGKILL');
  }

  async #launch(name: string, service: DemoService, readyMessage: string, env: Record<string, string>): Promise<ServiceProcess> {
    return this.#start(name, serviceEntry(service), { readyMessage }, env);
  }

  async #start(
    name: string,
    entry: string,
    ready: { readyMessage: string } | { readyPort: number },
    env: Record<string, string>,
  ): Promise<ServiceProcess> {
    return startServiceProcess({
      name,
      entry,
      cwd: this.#root,
      ...ready,
      logFile: join(this.#logDir, `${name}.log`),
      // The logs are in the file: keep only what a start-up failure shows.
      maxLogLines: 20,
      // Ctrl-C in the terminal reaches only the demo, which then drains its children in order.
      detached: true,
      env: { ...this.#childEnv, ...env },
    });
  }

  #info(id: string, h: ServiceProcess): DemoWorkerInfo {
    const port = h.ready.httpPort;
    return {
      id,
      pid: h.pid,
      httpPort: typeof port === 'number' ? port : null,
      alive: h.exit === undefined,
      exit: this.#exits.get(id) ?? null,
    };
  }
}
