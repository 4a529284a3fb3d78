import {
  context as otelContext,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import type { TransportHeaders } from './transport.js';
import type { MsgHdrs } from '@nats-io/transport-node';

/** W3C trace context header carrying the parent span. */
export const TRACEPARENT_HEADER = 'traceparent';
/** W3C trace context header carrying vendor state. */
export const TRACESTATE_HEADER = 'tracestate';

// version-traceid-parentid-flags; version ff is invalid; all-zero trace and parent ids are invalid.
// Version 00 has exactly four fields; later versions may append fields after a `-`.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Whether `s` is a well-formed W3C `traceparent` value. */
export function validTraceparent(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = TRACEPARENT.exec(s);
  if (!m) return false;
  const [, version, traceId, parentId, , rest] = m;
  if (traceId === undefined || parentId === undefined) return false; // required groups: always set on a match
  if (version === 'ff' || (version === '00' && rest !== undefined)) return false;
  return !/^0+$/.test(traceId) && !/^0+$/.test(parentId);
}

/** Reads OpenTelemetry propagation fields from NATS headers. */
export const natsHeadersGetter: TextMapGetter<TransportHeaders> = {
  keys: (carrier) => carrier.keys(),
  get: (carrier, key) => (carrier.has(key) ? carrier.get(key) : undefined),
};

/** Writes OpenTelemetry propagation fields into NATS headers. */
export const natsHeadersSetter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** What a command span is about: `client` when sending (injects into `headers`), `server` when handling (extracts from them). */
export type CommandSpanOptions =
  | (CommandSpanSubject & {
      readonly side: 'client';
      readonly headers: MsgHdrs;
      /** Parent span context as a `traceparent` to continue instead of the active context. */
      readonly traceparent?: string;
    })
  | (CommandSpanSubject & { readonly side: 'server'; readonly headers: TransportHeaders });

/** The command a span is about. */
export interface CommandSpanSubject {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly commandType: string;
}

/**
 * Start the span of one command on either side of the wire, with `trace.getTracer('ratchet')`.
 * The client span's context is injected into `headers`; the server span is a child of the context
 * extracted from them. Without a registered OpenTelemetry SDK both are no-ops. End the span yourself.
 * @example
 * const span = startCommandSpan({ side: 'client', aggregateType, aggregateId, commandType, headers: h });
 * try { ... } finally { span.end(); }
 */
export function startCommandSpan(options: CommandSpanOptions): Span {
  const { aggregateType, aggregateId, commandType } = options;
  const attributes = {
    'messaging.system': 'nats',
    'ratchet.aggregate.type': aggregateType,
    'ratchet.aggregate.id': aggregateId,
    'ratchet.command.type': commandType,
  };
  const tracer = trace.getTracer('ratchet');
  if (options.side === 'server') {
    const parent = propagation.extract(otelContext.active(), options.headers, natsHeadersGetter);
    return tracer.startSpan(`handle ${aggregateType}.${commandType}`, { kind: SpanKind.SERVER, attributes }, parent);
  }
  const parent = parentContext(options.traceparent);
  const span = tracer.startSpan(`send ${aggregateType}.${commandType}`, { kind: SpanKind.CLIENT, attributes }, parent);
  const headers = options.headers;
  propagation.inject(trace.setSpan(parent, span), headers, natsHeadersSetter);
  // With no propagator registered, still pass an explicit traceparent on so the worker can record it.
  if (!headers.has(TRACEPARENT_HEADER) && options.traceparent !== undefined && validTraceparent(options.traceparent)) {
    headers.set(TRACEPARENT_HEADER, options.traceparent);
  }
  return span;
}

function parentContext(traceparent: string | undefined): Context {
  if (traceparent === undefined) return otelContext.active();
  const m = TRACEPARENT.exec(traceparent);
  if (!validTraceparent(traceparent) || !m) return otelContext.active();
  const traceId = m[2];
  const spanId = m[3];
  const flags = m[4];
  if (traceId === undefined || spanId === undefined || flags === undefined) return otelContext.active(); // required groups: never
  return trace.setSpanContext(otelContext.active(), {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16),
    isRemote: true,
  });
}

/** End a command span, recording the outcome and the number of attempts. */
export function endCommandSpan(span: Span, outcome: 'ok' | 'rejected' | 'error', attempts?: number, errorCode?: string): void {
  span.setAttribute('ratchet.outcome', outcome);
  if (attempts !== undefined) span.setAttribute('ratchet.attempts', attempts);
  if (errorCode !== undefined) span.setAttribute('ratchet.error.code', errorCode);
  if (outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR, ...(errorCode === undefined ? {} : { message: errorCode }) });
  span.end();
}
