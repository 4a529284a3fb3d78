import type { AnyAggregate } from '@ratchet/core';
import type { EventCipher, PostgresEventStore } from '@ratchet/event-store-postgres';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CommandTransport } from '@ratchet/transport-nats';
import type { Logger } from 'pino';
import type { MembershipView } from './cluster-ownership.js';
import type { PeerProbe } from './peer-watch.js';
import type { GroupCommitterOptions } from './group-committer.js';
import type { PartitionOwnership } from './ownership.js';
import type { WorkerMetrics } from './worker-metrics.js';

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /**
   * Where commands arrive: a connected NATS client, or any `CommandTransport` (the embedded
   * in-process bus). The worker does not close it.
   */
  readonly nats: CommandTransport;
  /**
   * The NATS connection the outbox relay publishes committed events on (JetStream). The relay runs
   * in this worker only when it is given and `relay` is not false; usually the same connection as `nats`.
   */
  readonly jetstream?: NatsConnection;
  /** Migrated event store (the worker does not close it). */
  readonly store: PostgresEventStore;
  /** The aggregate types this worker serves. */
  readonly aggregates: readonly AnyAggregate[];
  /**
   * Seals the sensitive fields of new events and opens stored ones (docs/sensitive-data.md).
   * Default the store's (`store.cipher`, with the store's master key).
   */
  readonly cipher?: EventCipher;
  /** Stable name of this worker; default a random UUID. */
  readonly workerId?: string;
  /** Partitions in the cluster; must match every client. Default 64. */
  readonly partitionCount?: number;
  /** Who owns which partition; default: claim all of them (one worker), or follow `cluster`. */
  readonly ownership?: PartitionOwnership;
  /**
   * Partition lease length in ms (Postgres's clock): another worker can claim a partition this long
   * after this one last renewed it; locally the lease ends a fifth earlier, and past it the worker
   * answers UNAVAILABLE instead of answering from memory. Renewed every fifth. Default 5,000.
   */
  readonly partitionLeaseMs?: number;
  /** Share partitions with other workers by membership (see docs/operations.md). */
  readonly cluster?: WorkerClusterOptions;
  /** NATS queue group the command subscriptions join. Default 'ratchet-workers'. */
  readonly queueGroup?: string;
  /** Group commit tuning. */
  readonly groupCommit?: GroupCommitterOptions;
  /** Save a snapshot every this many events per aggregate. Default 100. */
  readonly snapshotEvery?: number;
  /** Most actors kept in memory. Default 100,000. */
  readonly maxResidentActors?: number;
  /** Passivate actors idle this long (ms). Default 300,000. */
  readonly idleTimeoutMs?: number;
  /**
   * Most passivated actors kept in their compact persisted form, so reactivation reads only the
   * events after it instead of loading a snapshot (LRU past it). 0 disables. Default 1,000,000.
   */
  readonly maxPassivatedActors?: number;
  /**
   * Commands of one aggregate decided ahead of their commits: while an append is in flight, up to
   * this many commands behind it are decided against the state it leads to and committed right
   * after it (answers are those of one-by-one execution). 1 = one commit at a time. Default 32.
   */
  readonly pipelineDepth?: number;
  /** Most commands admitted and not yet answered; more get OVERLOADED. Default 4,096. */
  readonly maxInFlight?: number;
  /** Largest request body in bytes. Default 65,536. */
  readonly maxRequestBytes?: number;
  /** Run the outbox relay in this worker when `jetstream` is given (one relay is active cluster-wide, by lease). Default true. */
  readonly relay?: boolean;
  /** Replicas of the RATCHET_EVENTS stream when the worker creates it. Default 1. */
  readonly eventsStreamReplicas?: number;
  /** Relay tuning: poll interval and lease TTL (ms). */
  readonly relayPollIntervalMs?: number;
  readonly relayLeaseTtlMs?: number;
  /**
   * Durable timers (statechart delays, scheduled commands) of the partitions served here: how often
   * to look for due ones at the longest (ms, default 1,000) and how many fires at once (default
   * 512); `false` leaves them to other workers.
   */
  readonly timers?: false | { readonly pollIntervalMs?: number; readonly maxInFlight?: number };
  /** Logger; default silent. */
  readonly logger?: Logger;
  /** Metrics; default a fresh registry. */
  readonly metrics?: WorkerMetrics;
}

/** Membership-driven partition ownership. */
export interface WorkerClusterOptions {
  /** Live members; `leave` announces a planned exit, `stop` ends heartbeats. */
  readonly membership: MembershipView & { leave(): Promise<void>; stop(): Promise<void> };
  /** Owner per partition for a member set (the same function on every worker). */
  readonly assign: (members: readonly string[], partitionCount: number) => readonly string[];
  /** Most partitions taken over per second. Default 32. */
  readonly movesPerSecond?: number;
  /** How long to wait for a live previous owner to release before trying to claim (ms); the claim still waits for its lease. Default 5,000. */
  readonly handoverTimeoutMs?: number;
  /**
   * Asks NATS whether peers' connections are up (`natsPeerLiveness(nc)` from @ratchet/cluster): a
   * member whose connection closed (SIGKILL, OOM) loses its partitions at once, stolen under the
   * epoch seen, for failover in well under a second; this worker also answers on its own liveness
   * subject, and its leases hold only on the NATS connection they were renewed on. Default none.
   */
  readonly peers?: PeerProbe;
  /** How often peers are asked (ms). Default 250. */
  readonly peerCheckIntervalMs?: number;
}
