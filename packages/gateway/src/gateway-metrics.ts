import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The gateway's Prometheus metrics, registered on one registry. */
export class GatewayMetrics {
  readonly registry: Registry;
  /** Command requests answered, by aggregate type (`unknown` for a type not served), result (ok, rejected, error code) and HTTP status. */
  readonly requests: Counter<'aggregate' | 'result' | 'http_status'>;
  /** Seconds from receiving a command request to answering it (reading, validation, send, wait). */
  readonly latency: Histogram<'aggregate'>;
  /** Command requests admitted and not yet answered. */
  readonly inFlight: Gauge;
  /** Read-your-writes waits by projection and whether the projection caught up in time. */
  readonly waits: Counter<'projection' | 'waited'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.requests = new Counter({
      name: 'ratchet_gateway_requests_total',
      help: 'Command requests answered, by aggregate type, result and HTTP status',
      labelNames: ['aggregate', 'result', 'http_status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'ratchet_gateway_request_duration_seconds',
      help: 'Time from receiving a command request to answering it',
      labelNames: ['aggregate'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.inFlight = new Gauge({ name: 'ratchet_gateway_in_flight', help: 'Command requests admitted and not yet answered', registers });
    this.waits = new Counter({
      name: 'ratchet_gateway_wait_for_total',
      help: 'Read-your-writes waits, by projection and whether it caught up before the deadline',
      labelNames: ['projection', 'waited'],
      registers,
    });
  }
}
