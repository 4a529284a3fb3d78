import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A process runner's Prometheus metrics, labelled by process name. */
export class ProcessMetrics {
  readonly registry: Registry;
  /** Subscribed events handled (their commands answered, their state committed). */
  readonly handled: Counter<'process'>;
  /** Events dropped because their (stream, version) was handled before. */
  readonly duplicates: Counter<'process'>;
  /** Commands sent (answers read back from the journal on a re-run are not sent again). */
  readonly sent: Counter<'process'>;
  /** Commands of handled events by answer: ok, rejected, failed. */
  readonly answered: Counter<'process' | 'outcome'>;
  /** Events waiting in JetStream (pending + unacked) or, in feed mode, 0 once the feed is drained. */
  readonly lagEvents: Gauge<'process'>;
  /** Streams held by a parked event. */
  readonly parked: Gauge<'process'>;
  /** Time of one batch: locks, handlers, commands answered, commit. */
  readonly batchSeconds: Histogram<'process'>;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    const labelNames = ['process'] as const;
    this.handled = new Counter({ name: 'ratchet_process_events_handled_total', help: 'Events a process handled', labelNames, registers });
    this.duplicates = new Counter({
      name: 'ratchet_process_events_duplicate_total',
      help: 'Events dropped as handled before (stream, version)',
      labelNames,
      registers,
    });
    this.sent = new Counter({ name: 'ratchet_process_commands_sent_total', help: 'Commands sent by a process', labelNames, registers });
    this.answered = new Counter({
      name: 'ratchet_process_commands_answered_total',
      help: 'Commands of handled events by answer',
      labelNames: ['process', 'outcome'] as const,
      registers,
    });
    this.lagEvents = new Gauge({ name: 'ratchet_process_lag_events', help: 'Events not yet handled', labelNames, registers });
    this.parked = new Gauge({ name: 'ratchet_process_parked', help: 'Streams held by a parked event', labelNames, registers });
    this.batchSeconds = new Histogram({
      name: 'ratchet_process_batch_seconds',
      help: 'Process batch time, commands answered included',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }
}
