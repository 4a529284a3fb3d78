import type { StartedTestContainer } from 'testcontainers';
import { dockerAvailable } from './docker-available.js';
import { findFreePort } from './free-port.js';
import { LauncherError, LauncherErrorCode } from './launcher-error.js';
import { readNatsInfo } from './nats-info.js';
import { checkPostgres } from './postgres-ready.js';
import type { ServerHandle } from './server-handle.js';
import { waitFor } from './wait-for.js';

/** Which server a container runs. */
export type ContainerServerKind = 'postgres' | 'nats';

/** Options of {@link startPostgresContainer} and {@link startNatsContainer}. */
export interface ContainerServerOptions {
  /** Image to run. Default: {@link chooseContainerImage}. */
  readonly image?: string;
  /** Port on 127.0.0.1. Default: a free one. */
  readonly port?: number;
  /** How long the container may take to answer, in ms. Default 120 000 (first run initialises Postgres). */
  readonly startTimeoutMs?: number;
}

/** A server in a container on the host's network: `pid` is its main process as the host sees it. */
export interface ContainerServerHandle extends ServerHandle {
  /** The image it runs. */
  readonly image: string;
  /** Docker's id of the container. */
  readonly containerId: string;
}

const IMAGES: Record<ContainerServerKind, { env: string; local: string; public: string }> = {
  postgres: { env: 'RATCHET_POSTGRES_IMAGE', local: 'ratchet-local/postgres:15', public: 'postgres:15' },
  nats: { env: 'RATCHET_NATS_IMAGE', local: 'ratchet-local/nats:2.9', public: 'nats:2.10' },
};

async function testcontainers(): Promise<typeof import('testcontainers')> {
  // testcontainers' reaper (Ryuk) is an image from Docker Hub, which machines without a registry
  // cannot pull; these handles remove their containers on stop(), so the reaper is off unless the
  // user says otherwise. Read when testcontainers first starts a container.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  try {
    return await import('testcontainers');
  } catch (cause) {
    throw new LauncherError('the container tier needs the testcontainers package (npm install --save-dev testcontainers@11)', {
      code: LauncherErrorCode.NOT_FOUND,
      cause,
    });
  }
}

/**
 * The image for `kind`: RATCHET_POSTGRES_IMAGE / RATCHET_NATS_IMAGE when set; else the local image
 * that deploy/scripts/prepare-local-images.sh builds (ratchet-local/postgres:15,
 * ratchet-local/nats:2.9) when the engine has it, for machines that reach no registry; else
 * `postgres:15` / `nats:2.10`, pulled from the registry.
 */
export async function chooseContainerImage(kind: ContainerServerKind): Promise<string> {
  const c = IMAGES[kind];
  const given = process.env[c.env];
  if (given !== undefined && given !== '') return given;
  const tc = await testcontainers();
  const client = await tc.getContainerRuntimeClient();
  return (await client.image.exists(tc.ImageName.fromString(c.local))) ? c.local : c.public;
}

/**
 * Postgres in a container on the host's network (`--network host`: every connection stays on
 * 127.0.0.1), listening on 127.0.0.1 only, superuser `postgres` with trust auth, like
 * {@link startPostgresServer}; resolves once it answers `SELECT 1`.
 * @example
 * const pg = await startPostgresContainer();
 * try { … pg.url … } finally { await pg.stop(); }
 */
export async function startPostgresContainer(options: ContainerServerOptions = {}): Promise<ContainerServerHandle> {
  const port = options.port ?? (await findFreePort());
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return startContainer(
    'postgres',
    options,
    port,
    url,
    (tc, image) =>
      new tc.GenericContainer(image)
        .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', PGPORT: String(port) })
        .withCommand(['postgres', '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'])
        // pg_isready over TCP: during the image's first-start initialisation Postgres listens on
        // its unix socket only, so this passes once the real server is up. Both the official image
        // and the local one have pg_isready.
        .withWaitStrategy(tc.Wait.forSuccessfulCommand(`pg_isready -q -h 127.0.0.1 -p ${port} -U postgres`)),
    () => checkPostgres(url).then(() => true),
  );
}

/**
 * nats-server with JetStream in a container on the host's network, on 127.0.0.1 only, like
 * {@link startNatsServer}; resolves once the server greets with INFO and JetStream.
 * @example
 * const nats = await startNatsContainer();
 * try { … nats.url … } finally { await nats.stop(); }
 */
export async function startNatsContainer(options: ContainerServerOptions = {}): Promise<ContainerServerHandle> {
  const port = options.port ?? (await findFreePort());
  const url = `nats://127.0.0.1:${port}`;
  return startContainer(
    'nats',
    options,
    port,
    url,
    (tc, image) =>
      new tc.GenericContainer(image)
        // Arguments only: the official image's entrypoint is nats-server, the local one's passes
        // arguments starting with "-" to nats-server.
        .withCommand(['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', '/data/jetstream'])
        // A log line, not a port check: testcontainers' port checks go through mapped ports,
        // which the host network does not have.
        .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/)),
    () => readNatsInfo(url).then((info) => info.jetstream === true),
  );
}

type Testcontainers = typeof import('testcontainers');
type Builder = InstanceType<Testcontainers['GenericContainer']>;

async function startContainer(
  kind: ContainerServerKind,
  options: ContainerServerOptions,
  port: number,
  url: string,
  configure: (tc: Testcontainers, image: string) => Builder,
  answers: () => Promise<boolean>,
): Promise<ContainerServerHandle> {
  const tc = await testcontainers();
  const image = options.image ?? (await chooseContainerImage(kind));
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  let container: StartedTestContainer;
  try {
    container = await configure(tc, image)
      .withNetworkMode('host')
      .withName(`ratchet-${kind}-${port}-${process.pid}`)
      .withLabels({ 'org.ratchet.launcher': kind })
      .withStartupTimeout(timeoutMs)
      .start();
  } catch (cause) {
    throw new LauncherError(`starting ${image} (${kind}) on 127.0.0.1:${port} failed`, { code: LauncherErrorCode.START_FAILED, cause });
  }
  const server = new ContainerServer(tc, container, image, url, port, await hostPid(tc, container));
  try {
    await waitFor(answers, { what: `${kind} in ${image} at ${url}`, timeoutMs, intervalMs: 200 });
  } catch (error) {
    await server.stop();
    throw new LauncherError(`${image} (${kind}) started but does not answer at ${url}`, {
      code: LauncherErrorCode.START_FAILED,
      cause: error,
    });
  }
  return server;
}

async function hostPid(tc: Testcontainers, container: StartedTestContainer): Promise<number> {
  const client = await tc.getContainerRuntimeClient();
  const info = await client.container.inspect(client.container.getById(container.getId()));
  return info.State.Pid;
}

class ContainerServer implements ContainerServerHandle {
  readonly image: string;
  readonly url: string;
  readonly port: number;
  readonly containerId: string;
  #pid: number;
  #stopped: Promise<void> | undefined;
  readonly #tc: Testcontainers;
  readonly #container: StartedTestContainer;

  constructor(tc: Testcontainers, container: StartedTestContainer, image: string, url: string, port: number, pid: number) {
    this.#tc = tc;
    this.#container = container;
    this.image = image;
    this.url = url;
    this.port = port;
    this.containerId = container.getId();
    this.#pid = pid;
  }

  get pid(): number {
    return this.#pid;
  }

  /** Stop (SIGTERM, SIGKILL after 10 s) and remove the container with its volumes. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= this.#container.stop({ timeout: 10_000, remove: true, removeVolumes: true }).then(() => undefined);
    return this.#stopped;
  }

  /** Signal the container's main process by its host pid (the caller must be allowed to: root). */
  kill(signal: NodeJS.Signals): void {
    process.kill(this.#pid, signal);
  }

  /** Restart the container (same port, same data) and wait for its main process. */
  async restart(): Promise<void> {
    await this.#container.restart({ timeout: 10_000 });
    this.#pid = await hostPid(this.#tc, this.#container);
  }
}

/**
 * The third tier of server discovery (after the env URL and the binary): `kind` in a container
 * when a Docker engine answers; undefined when none does.
 */
export async function startServerContainerIfDocker(kind: ContainerServerKind): Promise<ContainerServerHandle | undefined> {
  if (!(await dockerAvailable())) return undefined;
  return kind === 'postgres' ? startPostgresContainer() : startNatsContainer();
}
