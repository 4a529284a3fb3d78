import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';

/** The worker's Prometheus metrics, registered on one registry. */
export class WorkerMetrics {
  readonly registry: Registry;
  /** Commands by aggregate type and result (ok, rejected, error code). */
  readonly commands: Counter<'aggregate' | 'result'>;
  /** Seconds from receiving a command to sending its reply. */
  readonly latency: Histogram<'aggregate'>;
  /** Requests per group-commit transaction. */
  readonly batchSize: Histogram;
  /** Seconds per group-commit transaction. */
  readonly batchSeconds: Histogram;
  /** Actors in memory. */
  readonly residentActors: Gauge;
  /** Commands admitted and not yet answered. */
  readonly inFlight: Gauge;
  /** Actors loaded from the store, by whether a snapshot was used. */
  readonly activations: Counter<'snapshot'>;
  /** Actors passivated (idle timeout or resident limit). */
  readonly passivations: Counter;
  /** Passivated actors kept in memory in their persisted form. */
  readonly passivatedActors: Gauge;
  /** Actors reactivated from the passivated tier (no snapshot load, only the tail read). */
  readonly passivatedActivations: Counter;
  /** Committed events not yet published to JetStream (measured by the relay). */
  readonly outboxLag: Gauge;
  /** Events published by the outbox relay. */
  readonly published: Counter;
  /**
   * Seconds from a group commit returning to JetStream acknowledging its events, for the events
   * this worker committed and published itself (a relay also publishes other workers' commits,
   * whose commit time it does not know). Quantiles over the last 10 s.
   */
  readonly outboxLagSeconds: Summary;
  /** Appends refused because this worker's fencing epoch was stale. */
  readonly fencedWrites: Counter;
  readonly leaseRefusals: Counter;
  /** Timer fires by kind (delay, command) and outcome (fired, no-op, superseded, not-owner, failed). */
  readonly timerFires: Counter<'kind' | 'outcome'>;
  /** How late a fired timer's events committed after it was due (seconds, by the worker's clock against Postgres's due time). */
  readonly timerLateness: Histogram;
  /** Partitions served by this worker. */
  readonly partitionsOwned: Gauge;
  /** Partition moves by kind (acquired, released, lost). */
  readonly partitionMoves: Counter<'kind'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.commands = new Counter({
      name: 'ratchet_commands_total',
      help: 'Commands handled, by aggregate type and result',
      labelNames: ['aggregate', 'result'],
      registers,
    });
    this.latency = new Histogram({
      name: 'ratchet_command_duration_seconds',
      help: 'Time from receiving a command to replying',
      labelNames: ['aggregate'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.outboxLagSeconds = new Summary({
      name: 'ratchet_outbox_lag_seconds',
      help: 'Commit to JetStream ack, per event this worker committed and published (last 10 s)',
      percentiles: [0.5, 0.9, 0.99],
      maxAgeSeconds: 10,
      ageBuckets: 2,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'ratchet_group_commit_batch_size',
      help: 'Appends per group-commit transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'ratchet_group_commit_seconds',
      help: 'Duration of one group-commit transaction',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25],
      registers,
    });
    this.residentActors = new Gauge({ name: 'ratchet_resident_actors', help: 'Aggregate actors in memory', registers });
    this.inFlight = new Gauge({ name: 'ratchet_commands_in_flight', help: 'Commands admitted, not yet answered', registers });
    this.activations = new Counter({
      name: 'ratchet_actor_activations_total',
      help: 'Actors loaded from the store, by whether a snapshot was used',
      labelNames: ['snapshot'],
      registers,
    });
    this.passivations = new Counter({ name: 'ratchet_actor_passivations_total', help: 'Actors passivated', registers });
    this.passivatedActors = new Gauge({
      name: 'ratchet_passivated_actors',
      help: 'Passivated actors kept in memory in their persisted form',
      registers,
    });
    this.passivatedActivations = new Counter({
      name: 'ratchet_actor_passivated_reactivations_total',
      help: 'Actors reactivated from the passivated tier (tail read only, no snapshot load)',
      registers,
    });
    this.outboxLag = new Gauge({
      name: 'ratchet_outbox_lag_events',
      help: 'Committed events not yet published to JetStream',
      registers,
    });
    this.published = new Counter({ name: 'ratchet_outbox_published_total', help: 'Events published to JetStream', registers });
    this.fencedWrites = new Counter({
      name: 'ratchet_fenced_writes_total',
      help: 'Appends refused because the fencing epoch was stale',
      registers,
    });
    this.leaseRefusals = new Counter({
      name: 'ratchet_lease_refusals_total',
      help: 'Commands answered UNAVAILABLE because the partition lease had lapsed (a pause, or Postgres unreachable)',
      registers,
    });
    this.timerFires = new Counter({
      name: 'ratchet_timer_fires_total',
      help: 'Durable timer fires by kind and outcome',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.timerLateness = new Histogram({
      name: 'ratchet_timer_lateness_seconds',
      help: 'Time from a timer being due to its fire committing',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.partitionsOwned = new Gauge({ name: 'ratchet_partitions_owned', help: 'Partitions served by this worker', registers });
    this.partitionMoves = new Counter({
      name: 'ratchet_partition_moves_total',
      help: 'Partition moves by kind (acquired, released, lost)',
      labelNames: ['kind'],
      registers,
    });
  }
}
