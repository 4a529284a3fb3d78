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

/**
 * Where the demo runs: Postgres and NATS (or PGlite and an in-process bus), and how the workers,
 * the projector, a client and the dashboard are started there. `runDemo` is one flow over this.
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
  /** Start up to `workers` workers and the projector, adding their stops to `cleanups`; resolves with how many workers run. */
  startServices(workers: number, cleanups: Cleanups): Promise<number>;
  /** A client that reaches the workers. */
  connectClient(): Promise<RatchetClient>;
  /** Start the dashboard and the control endpoint it calls, adding their stops to `cleanups`; resolves with its port. */
  startDashboard(request: DashboardRequest, cleanups: Cleanups): Promise<number>;
  /** Close the pool and stop the servers this infrastructure started (nothing for servers given by env). */
  stop(): Promise<void>;
}
