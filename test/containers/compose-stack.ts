// deploy/compose/compose.yaml + compose.host-network.yaml brought up for a test: free ports of
// 127.0.0.1 for every listener, the images of container-images.ts, a project name of its own, and
// `down -v` at the end whatever happened.
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { exec, findCompose } from './docker-cli.js';
import type { StackImages } from './container-images.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FILES = ['deploy/compose/compose.yaml', 'deploy/compose/compose.host-network.yaml'];

/** The compose services, by role. */
export const NATS_NODES = ['nats-1', 'nats-2', 'nats-3'] as const;
export const WORKERS = ['worker-1', 'worker-2', 'worker-3'] as const;

/** The ports the stack listens on, all on 127.0.0.1. */
export interface StackPorts {
  readonly postgres: number;
  readonly nats: Readonly<Record<(typeof NATS_NODES)[number], { client: number; cluster: number; http: number }>>;
  readonly workers: Readonly<Record<(typeof WORKERS)[number], number>>;
  readonly projector: number;
  readonly dashboard: number;
}

/** Options of {@link ComposeStack.start}. */
export interface ComposeStackOptions {
  readonly images: StackImages;
  /** Tag the build gets (RATCHET_IMAGE). */
  readonly appImage: string;
  readonly log: (line: string) => void;
}

/** Reserve `n` distinct free ports of 127.0.0.1 (held together, so no two are the same, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((ok, fail) => {
          const s = createServer();
          s.once('error', fail);
          s.listen(0, '127.0.0.1', () => ok(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

/** A running compose project. */
export class ComposeStack {
  readonly project: string;
  readonly ports: StackPorts;
  readonly #compose: readonly string[];
  readonly #env: NodeJS.ProcessEnv;
  readonly #log: (line: string) => void;

  private constructor(project: string, ports: StackPorts, compose: readonly string[], env: NodeJS.ProcessEnv, log: (line: string) => void) {
    this.project = project;
    this.ports = ports;
    this.#compose = compose;
    this.#env = env;
    this.#log = log;
  }

  /** Pick ports, build the Ratchet image from this repository, start every service; the caller must `down()`. */
  static async create(options: ComposeStackOptions): Promise<ComposeStack> {
    const compose = await findCompose();
    const p = await freePorts(15);
    const take = (): number => p.shift()!;
    const ports: StackPorts = {
      postgres: take(),
      nats: {
        'nats-1': { client: take(), cluster: take(), http: take() },
        'nats-2': { client: take(), cluster: take(), http: take() },
        'nats-3': { client: take(), cluster: take(), http: take() },
      },
      workers: { 'worker-1': take(), 'worker-2': take(), 'worker-3': take() },
      projector: take(),
      dashboard: take(),
    };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RATCHET_POSTGRES_IMAGE: options.images.postgres.name,
      RATCHET_NATS_IMAGE: options.images.nats.name,
      RATCHET_NODE_IMAGE: options.images.node.name,
      RATCHET_IMAGE: options.appImage,
      RATCHET_PG_PORT: String(ports.postgres),
      RATCHET_PROJECTOR_PORT: String(ports.projector),
      RATCHET_DASHBOARD_PORT: String(ports.dashboard),
    };
    for (const [i, node] of NATS_NODES.entries()) {
      env[`RATCHET_NATS_${i + 1}_PORT`] = String(ports.nats[node].client);
      env[`RATCHET_NATS_${i + 1}_CLUSTER_PORT`] = String(ports.nats[node].cluster);
      env[`RATCHET_NATS_${i + 1}_HTTP_PORT`] = String(ports.nats[node].http);
    }
    for (const [i, worker] of WORKERS.entries()) env[`RATCHET_WORKER_${i + 1}_PORT`] = String(ports.workers[worker]);
    const project = `ratchet-test-${process.pid}-${Date.now().toString(36)}`;
    return new ComposeStack(project, ports, compose, env, options.log);
  }

  /** Run the compose tool on this project. */
  compose(args: readonly string[], timeoutMs = 300_000): Promise<string> {
    const [file, ...pre] = this.#compose;
    return exec(file!, [...pre, '-p', this.project, ...FILES.flatMap((f) => ['-f', f]), ...args], { env: this.#env, cwd: ROOT, timeoutMs });
  }

  /** Build the image (compose's build section, from this repository) and start every service. */
  async up(): Promise<{ buildMs: number; upMs: number }> {
    const t0 = performance.now();
    // One build: every app service shares the image, `migrate` included.
    await this.compose(['build', '--force-rm', 'migrate'], 600_000);
    const t1 = performance.now();
    await this.compose(['up', '-d', '--no-build'], 300_000);
    return { buildMs: t1 - t0, upMs: performance.now() - t1 };
  }

  /** A NATS URL listing all three nodes, as `user`. */
  natsUrl(user: string, password: string): string {
    return NATS_NODES.map((n) => `nats://${user}:${password}@127.0.0.1:${this.ports.nats[n].client}`).join(',');
  }

  /** The superuser's URL of the stack's `ratchet` database. */
  get adminDatabaseUrl(): string {
    return `postgres://postgres:admin-dev@127.0.0.1:${this.ports.postgres}/ratchet`;
  }

  /** SIGKILL one service's container (no drain, no leave). */
  async kill(service: string): Promise<void> {
    await this.compose(['kill', '-s', 'SIGKILL', service]);
  }

  /** Start a stopped (killed) service's container again, with its volumes and ports. */
  async start(service: string): Promise<void> {
    await this.compose(['start', service]);
  }

  /** Whether a service's container is running. */
  async running(service: string): Promise<boolean> {
    const ids = (await this.compose(['ps', '-q', service])).trim();
    if (ids === '') return false;
    const state = await exec('docker', ['inspect', '--format', '{{.State.Running}}', ids.split('\n')[0]!]);
    return state.trim() === 'true';
  }

  /** Every service's log, into one file under the temp dir; returns its path. */
  async saveLogs(): Promise<string> {
    const path = join(tmpdir(), `${this.project}.log`);
    const text = await this.compose(['logs', '--no-color', '--timestamps'], 60_000).catch((e: unknown) => `logs unavailable: ${String(e)}`);
    await writeFile(path, text);
    return path;
  }

  /** Stop and remove every container, network and volume of the project. Retries once. */
  async down(): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.compose(['down', '-v', '--remove-orphans', '--timeout', '5'], 180_000);
        return;
      } catch (error) {
        if (attempt >= 2) throw error;
        this.#log(`compose down failed (${String(error)}); retrying`);
        await delay(2_000);
      }
    }
  }
}
