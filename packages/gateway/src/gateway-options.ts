import type { RatchetClient } from '@ratchet/client';
import { DefinitionError, type AnyAggregate } from '@ratchet/core';
import { MAX_REQUEST_BYTES } from '@ratchet/transport-nats';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { GatewayMetrics } from './gateway-metrics.js';

/** What the gateway needs of a client: untyped sends by type name (a `RatchetClient` from `connectClient` fits). */
export type GatewayClient = Pick<RatchetClient, 'sendRaw'>;

/**
 * Read-your-writes: resolves once projection `name` has applied `streamId` up to `version`,
 * rejects with RatchetError(TIMEOUT) after `timeoutMs`. `Projector` from @ratchet/projector fits.
 */
export interface ProjectionWaiter {
  waitFor(name: string, streamId: string, version: number, timeoutMs?: number): Promise<void>;
}

/** A projection a request may name in `waitFor` (a projector `Projection` fits). */
export interface ProjectionRef {
  readonly name: string;
  /** Aggregate types it reads; default every type. */
  readonly aggregateTypes?: readonly string[];
}

/** The projections `?waitFor=<name>` may name, and how to wait for them. */
export interface GatewayProjections {
  /** Projection definitions (several versions of one name count once). */
  readonly definitions: readonly ProjectionRef[];
  readonly waiter: ProjectionWaiter;
  /** How long one wait may take after the command committed (ms); past it the answer is 202 with `waited: false`. Default 2,000. */
  readonly timeoutMs?: number;
}

/** What the OpenAPI document says about itself. */
export interface OpenApiInfo {
  /** Default 'Ratchet command gateway'. */
  readonly title?: string;
  /** The API's version; default '1'. */
  readonly version?: string;
  /** Base URLs, e.g. `https://api.example.com`; default none (relative to the document). */
  readonly servers?: readonly string[];
}

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** Sends the commands (retries, timeouts and command ids as the NATS client does them). */
  readonly client: GatewayClient;
  /** The aggregate types served; any other type is UNKNOWN_AGGREGATE without a round trip. */
  readonly aggregates: readonly AnyAggregate[];
  /** Projections for read-your-writes; default none (any `waitFor` is then refused). */
  readonly projections?: GatewayProjections;
  /** Largest request body in bytes; larger gets 413 PAYLOAD_TOO_LARGE. Default 65,536 (the workers' request limit). */
  readonly maxBodyBytes?: number;
  /** Command requests handled at once; past it, 503 OVERLOADED at once. Default 256. */
  readonly maxInFlight?: number;
  /** Budget of one command request: reading the body, then the send with its retries (ms). Default 5,000. */
  readonly requestTimeoutMs?: number;
  /** Seconds in the Retry-After header of retryable 503 answers. Default 1. */
  readonly retryAfterSeconds?: number;
  /** About the OpenAPI document at GET /openapi.json. */
  readonly openApi?: OpenApiInfo;
  /** Metrics, or a registry to create them in. Default: a new registry. */
  readonly metrics?: GatewayMetrics;
  readonly registry?: Registry;
  /** Default: silent. */
  readonly logger?: Logger;
}

/** The options with their defaults applied and checked. */
export interface GatewaySettings {
  readonly client: GatewayClient;
  readonly aggregates: ReadonlyMap<string, AnyAggregate>;
  /** Projection name → the aggregate types it reads (undefined: every type). */
  readonly projections: ReadonlyMap<string, ReadonlySet<string> | undefined>;
  readonly waiter: ProjectionWaiter | undefined;
  readonly waitTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxInFlight: number;
  readonly requestTimeoutMs: number;
  readonly retryAfterSeconds: number;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new DefinitionError(`gateway option ${name} must be a positive integer, got ${String(value)}`);
  return n;
}

/** Apply defaults and check the options; throws DefinitionError on a bad option or an aggregate type given twice. */
export function resolveGatewaySettings(options: GatewayOptions): GatewaySettings {
  const aggregates = new Map<string, AnyAggregate>();
  for (const aggregate of options.aggregates) {
    if (aggregates.has(aggregate.type)) throw new DefinitionError(`aggregate type "${aggregate.type}" given twice`);
    aggregates.set(aggregate.type, aggregate);
  }
  const projections = new Map<string, Set<string> | undefined>();
  for (const p of options.projections?.definitions ?? []) {
    if (!projections.has(p.name)) {
      projections.set(p.name, p.aggregateTypes === undefined ? undefined : new Set(p.aggregateTypes));
      continue;
    }
    // Versions of one name may read different types while a rebuild runs: the union is accepted.
    const known = projections.get(p.name);
    if (known === undefined) continue;
    if (p.aggregateTypes === undefined) projections.set(p.name, undefined);
    else for (const t of p.aggregateTypes) known.add(t);
  }
  return {
    client: options.client,
    aggregates,
    projections,
    waiter: options.projections?.waiter,
    waitTimeoutMs: positiveInteger('projections.timeoutMs', options.projections?.timeoutMs, 2_000),
    maxBodyBytes: positiveInteger('maxBodyBytes', options.maxBodyBytes, MAX_REQUEST_BYTES),
    maxInFlight: positiveInteger('maxInFlight', options.maxInFlight, 256),
    requestTimeoutMs: positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 5_000),
    retryAfterSeconds: positiveInteger('retryAfterSeconds', options.retryAfterSeconds, 1),
    metrics: options.metrics ?? new GatewayMetrics(options.registry),
    logger: options.logger ?? pino({ level: 'silent' }),
  };
}
