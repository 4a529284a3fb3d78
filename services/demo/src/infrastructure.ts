import type { RatchetClient } from '@ratchet/client';
import type { PostgresEventStore } from '@ratchet/event-store-postgres';
import type { Simulator } from '@ratchet/simulator';
import type pg from 'pg';

/** Teardown steps; the demo runs them in reverse order when it stops. */
export type Cleanups = Array<() => Promise<unknown>>;

/** What the dashboard is started with. */
export interface DashboardRequest {
  /** HTTP port; 0 = any free port. */
  readonly port: number;
  /** The demo's client: an in-process dashboard sends its commands through it. */
  readonly client: RatchetClient;
  /** The riders, once they run (the dashboard shows their totals). */
  readonly simulator: () => Simulator | undefined;
}

/** What the HTTP gateway is started with. */
export interface GatewayRequest {
  /** HTTP port; 0 = any free port. */
  readonly port: number;
  /** The demo's client: an in-process gateway sends its commands through it. */
  readonly client: RatchetClient;
}

/** What the app's own web server is started with. */
export interface WebRequest {
  /** Its entry point (the app project's package.json `"ratchet": { "web" }`). */
  readonly entry: string;
  /** Its HTTP_PORT; never 0 here: the demo picks the free port, so it knows where to wait. */
  readonly port: number;
  /** Where its forms send commands (GATEWAY_URL), without a trailing slash. */
  readonly gatewayUrl: string;
}

/**
 * Where the demo runs: Postgres and NATS (or PGlite and an in-process bus), and how the workers,
 * the projector, a client, the gateway, the dashboard and the app's web server are started there.
 * `runDemo` is one flow over this.
 */
export interface Infrastructure {
  /** One line for humans: where the servers are. */
  readonly label: string;
  /** False when everything runs in one process: the dashboard says "not distributed". */
  readonly distributed: boolean;
  /** Said after the demo's name in its greeting, when set (embedded mode). */
  readonly warning?: string;
  /** Where the services' log files go, when they run as processes of their own. */
  readonly logDir?: string;
  /** The servers' URLs, for the greeting and the CLI (`.data/demo.json`); absent in embedded mode. */
  readonly urls?: { readonly nats: string; readonly database: string };
  /** The store's pool; the read-model check at the end reads through it too. */
  readonly pool: pg.Pool;
  /** The event store on `pool`, not yet migrated. */
  readonly store: PostgresEventStore;
  /** Start up to `workers` workers and the projector (when the app needs one), adding their stops to `cleanups`; resolves with how many workers run. */
  startServices(workers: number, cleanups: Cleanups): Promise<number>;
  /** A client that reaches the workers. */
  connectClient(): Promise<RatchetClient>;
  /** Start the dashboard and the control endpoint it calls, adding their stops to `cleanups`; resolves with its port. */
  startDashboard(request: DashboardRequest, cleanups: Cleanups): Promise<number>;
  /** Start the HTTP gateway for the app's aggregates, adding its stop to `cleanups`; resolves with its port. */
  startGateway(request: GatewayRequest, cleanups: Cleanups): Promise<number>;
  /**
   * Start the app's web server as a process of its own (NATS_URL, DATABASE_URL, GATEWAY_URL,
   * HTTP_PORT, RATCHET_APP), adding its stop to `cleanups`. Absent in embedded mode: there is no
   * Postgres or NATS at a URL for another process to reach.
   */
  startWeb?(request: WebRequest, cleanups: Cleanups): Promise<void>;
  /** Close the pool and stop the servers this infrastructure started (nothing for servers given by env). */
  stop(): Promise<void>;
}
