import { afterEach, describe, expect, it } from 'vitest';
import { propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import { headers } from '@nats-io/transport-node';
import { startCommandSpan, TRACEPARENT_HEADER, validTraceparent } from './tracing.js';

const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const target = { aggregateType: 'turnstile', aggregateId: 't1', commandType: 'pushArm' };

// A minimal W3C propagator standing in for an SDK's, so the test needs no @opentelemetry/core.
const w3c: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const sc = trace.getSpanContext(ctx);
    if (sc) setter.set(carrier, 'traceparent', `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags}`);
  },
  extract(ctx, carrier, getter) {
    const value = getter.get(carrier, 'traceparent');
    const [, traceId, spanId, flags] = (typeof value === 'string' ? value : '').split('-');
    if (!traceId || !spanId || !flags) return ctx;
    return trace.setSpanContext(ctx, { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true });
  },
  fields: () => ['traceparent'],
};

afterEach(() => propagation.disable());

describe('validTraceparent', () => {
  it.each([parent, '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future'])('accepts %s', (s) => {
    expect(validTraceparent(s)).toBe(true);
  });

  it.each([
    '',
    'garbage',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // upper case
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // version ff
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // zero trace id
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // zero parent id
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x', // extra field on version 00
    '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', // short trace id
  ])('rejects %j', (s) => {
    expect(validTraceparent(s)).toBe(false);
  });
});

describe('startCommandSpan', () => {
  it('passes an explicit traceparent on when no SDK is registered', () => {
    const h = headers();
    startCommandSpan({ side: 'client', ...target, headers: h, traceparent: parent }).end();
    expect(h.get(TRACEPARENT_HEADER)).toBe(parent);
  });

  it('drops an invalid traceparent', () => {
    const h = headers();
    startCommandSpan({ side: 'client', ...target, headers: h, traceparent: 'nope' }).end();
    expect(h.has(TRACEPARENT_HEADER)).toBe(false);
  });

  it('continues the trace from client to server through the headers', () => {
    propagation.setGlobalPropagator(w3c);
    const h = headers();
    startCommandSpan({ side: 'client', ...target, headers: h, traceparent: parent }).end();
    expect(h.get(TRACEPARENT_HEADER)).toContain('4bf92f3577b34da6a3ce929d0e0e4736');
    const server = startCommandSpan({ side: 'server', ...target, headers: h });
    expect(server.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    server.end();
  });
});
