import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Projection } from './define-projection.js';
import type { BatchSizes } from './next-batch-limit.js';
import type { ProjectorMetrics } from './projector-metrics.js';
import type { ProjectorStore } from './projector-store.js';

/** JetStream as a projector uses it: the client consumers pull with, the manager that creates them. */
export interface JetStreamAccess {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The events stream. Default (set by the projector) RATCHET_EVENTS. */
  readonly streamName: string;
  /** Event subject prefix, for consumer filters. Default (set by the projector) 'ratchet.evt'. */
  readonly subjectPrefix: string;
  /** Ack wait of the durable consumers (ms). */
  readonly ackWaitMs: number;
}

/** Settings shared by every runner of a projector (the projector fills in the defaults). */
export interface RunnerSettings extends BatchSizes {
  /** Pool on the read-model database. */
  readonly pool: pg.Pool;
  /** Pool on the event store's database, for the rebuild's transaction fence. */
  readonly storePool: pg.Pool;
  readonly store: ProjectorStore;
  /** Where events come from after a build: JetStream, or (undefined) the event store's feed, polled. */
  readonly jetstream: JetStreamAccess | undefined;
  /** How often an empty feed is polled in feed mode (ms). */
  readonly feedPollIntervalMs: number;
  /** Interval of the JetStream consumer lag probes (ms). */
  readonly statsIntervalMs: number;
  /** Handler attempts before an event is parked. */
  readonly maxAttempts: number;
  /** Pause before a handler's first retry (ms), doubled each time. */
  readonly retryBackoffMs: number;
  readonly logger: Logger;
  readonly metrics: ProjectorMetrics;
  /** Called when the version finished building and follows its source. */
  readonly onFollowing: (projection: Projection) => Promise<void>;
}
