import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The projector's Prometheus metrics, labelled by projection (`<name>@v<version>`). */
export class ProjectorMetrics {
  readonly registry: Registry;
  /** Events applied to read models. */
  readonly applied: Counter<'projection'>;
  /** Events dropped because their (stream, version) was already applied. */
  readonly duplicates: Counter<'projection'>;
  /** Events read from the store to fill a stream gap. */
  readonly gapFilled: Counter<'projection'>;
  /** Messages that could not be decoded (terminated). */
  readonly malformed: Counter<'projection'>;
  /** Events waiting in JetStream (pending + unacked) or, while building, in the feed. */
  readonly lagEvents: Gauge<'projection'>;
  /** Age of the last applied event while events wait; 0 when caught up. */
  readonly lagSeconds: Gauge<'projection'>;
  /** Streams with a parked event. */
  readonly parked: Gauge<'projection'>;
  /** Read-model transaction time. */
  readonly batchSeconds: Histogram<'projection'>;
  /** Rebuild progress: feed events read so far, events to read, rate and ETA. */
  readonly rebuildDone: Gauge<'projection'>;
  readonly rebuildTotal: Gauge<'projection'>;
  readonly rebuildRate: Gauge<'projection'>;
  readonly rebuildEtaSeconds: Gauge<'projection'>;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    const labelNames = ['projection'] as const;
    this.applied = new Counter({
      name: 'ratchet_projection_events_applied_total',
      help: 'Events applied to read models',
      labelNames,
      registers,
    });
    this.duplicates = new Counter({
      name: 'ratchet_projection_events_duplicate_total',
      help: 'Events dropped as already applied (stream, version)',
      labelNames,
      registers,
    });
    this.gapFilled = new Counter({
      name: 'ratchet_projection_events_gap_filled_total',
      help: 'Events read from the store to fill a stream gap',
      labelNames,
      registers,
    });
    this.malformed = new Counter({
      name: 'ratchet_projection_messages_malformed_total',
      help: 'Undecodable JetStream messages (terminated)',
      labelNames,
      registers,
    });
    this.lagEvents = new Gauge({ name: 'ratchet_projection_lag_events', help: 'Events not yet applied', labelNames, registers });
    this.lagSeconds = new Gauge({
      name: 'ratchet_projection_lag_seconds',
      help: 'Age of the last applied event while events wait',
      labelNames,
      registers,
    });
    this.parked = new Gauge({ name: 'ratchet_projection_parked', help: 'Streams held by a parked event', labelNames, registers });
    this.batchSeconds = new Histogram({
      name: 'ratchet_projection_batch_seconds',
      help: 'Read-model transaction time',
      labelNames,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.rebuildDone = new Gauge({
      name: 'ratchet_projection_rebuild_done_events',
      help: 'Feed events read by a rebuild',
      labelNames,
      registers,
    });
    this.rebuildTotal = new Gauge({
      name: 'ratchet_projection_rebuild_total_events',
      help: 'Feed events a rebuild has to read',
      labelNames,
      registers,
    });
    this.rebuildRate = new Gauge({ name: 'ratchet_projection_rebuild_events_per_second', help: 'Rebuild rate', labelNames, registers });
    this.rebuildEtaSeconds = new Gauge({
      name: 'ratchet_projection_rebuild_eta_seconds',
      help: 'Rebuild time left at the current rate',
      labelNames,
      registers,
    });
  }
}
