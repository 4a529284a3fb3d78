import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, RatchetError, type RecordedEvent } from '@ratchet/core';
import { decodeEventMessage, encodeEventMessage, eventMessage, eventMessageHeaders } from './event-message.js';

const utf8 = new TextEncoder();

const event: RecordedEvent = {
  streamId: 'order/eu/2024/17',
  version: 3,
  type: 'itemAdded',
  schemaVersion: 2,
  data: { sku: 'a-1', qty: 2 },
  metadata: { commandId: 'c-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
  globalPosition: 42,
  transactionId: '7310',
  recordedAt: new Date('2024-05-01T12:00:00.123Z'),
  epoch: 5,
};

function decodeError(body: Uint8Array): RatchetError {
  try {
    decodeEventMessage(body);
  } catch (error) {
    if (error instanceof RatchetError) return error;
    throw new Error(`not a RatchetError: ${String(error)}`);
  }
  throw new Error('decoded');
}

describe('event message codec', () => {
  it('round-trips a recorded event', () => {
    expect(decodeEventMessage(encodeEventMessage(event))).toEqual(event);
  });

  it('keeps the wire format: fields in this order, the stream id split at its first /', () => {
    expect(new TextDecoder().decode(encodeEventMessage({ ...event, metadata: {}, data: {}, epoch: null }))).toBe(
      '{"streamId":"order/eu/2024/17","aggregateType":"order","aggregateId":"eu/2024/17","version":3,"type":"itemAdded",' +
        '"schemaVersion":2,"data":{},"metadata":{},"globalPosition":42,"transactionId":"7310",' +
        '"recordedAt":"2024-05-01T12:00:00.123Z","epoch":null}',
    );
  });

  it('round-trips any event the store can record', () => {
    const json: fc.Arbitrary<unknown> = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    const recorded = fc.record({
      streamId: fc
        .tuple(fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/), fc.string({ minLength: 1, maxLength: 20 }))
        .map(([t, id]) => `${t}/${id}`),
      version: fc.integer({ min: 1, max: 2 ** 31 }),
      type: fc.string({ maxLength: 20 }),
      schemaVersion: fc.integer({ min: 1, max: 100 }),
      data: json,
      metadata: fc.dictionary(
        fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'),
        fc.string({ maxLength: 8 }),
      ),
      globalPosition: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      transactionId: fc.bigInt({ min: 1n, max: 2n ** 63n }).map(String),
      recordedAt: fc.date({ min: new Date(0), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true }),
      epoch: fc.option(fc.integer({ min: 0, max: 2 ** 31 })),
    });
    fc.assert(
      fc.property(recorded, (e) => {
        expect(decodeEventMessage(encodeEventMessage(e))).toEqual(e);
      }),
    );
  });

  it('decodes a minimal body with the defaults older relays relied on', () => {
    const body = utf8.encode('{"streamId":"t/1","version":1,"type":"x","recordedAt":"2024-01-01T00:00:00Z"}');
    expect(decodeEventMessage(body)).toEqual({
      streamId: 't/1',
      version: 1,
      type: 'x',
      schemaVersion: 1,
      data: null,
      metadata: {},
      globalPosition: 0,
      transactionId: '0',
      recordedAt: new Date('2024-01-01T00:00:00Z'),
      epoch: null,
    });
  });

  it.each([
    ['not JSON', 'nope', 'not JSON'],
    ['empty bytes', '', 'not JSON'],
    ['null', 'null', 'not an object'],
    ['a number', '7', 'not an object'],
    ['no streamId', '{"version":1,"type":"x","recordedAt":"2024-01-01T00:00:00Z"}', 'streamId'],
    ['an empty streamId', '{"streamId":"","version":1,"type":"x","recordedAt":"2024-01-01T00:00:00Z"}', 'streamId'],
    ['version 0', '{"streamId":"t/1","version":0,"type":"x","recordedAt":"2024-01-01T00:00:00Z"}', 'version'],
    ['a fractional version', '{"streamId":"t/1","version":1.5,"type":"x","recordedAt":"2024-01-01T00:00:00Z"}', 'version'],
    ['a version as a string', '{"streamId":"t/1","version":"1","type":"x","recordedAt":"2024-01-01T00:00:00Z"}', 'version'],
    ['no type', '{"streamId":"t/1","version":1,"recordedAt":"2024-01-01T00:00:00Z"}', 'type'],
    ['no recordedAt', '{"streamId":"t/1","version":1,"type":"x"}', 'recordedAt'],
    ['a recordedAt that is no date', '{"streamId":"t/1","version":1,"type":"x","recordedAt":"soon"}', 'recordedAt'],
  ])('refuses %s with MALFORMED_EVENT', (_what, body, reason) => {
    const error = decodeError(utf8.encode(body));
    expect(error.code).toBe(ErrorCode.MALFORMED_EVENT);
    expect(error.retryable).toBe(false);
    expect(error.details).toEqual({ reason });
  });

  it('throws nothing but MALFORMED_EVENT on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (body) => {
        try {
          decodeEventMessage(body);
        } catch (error) {
          expect(error).toBeInstanceOf(RatchetError);
          expect((error as RatchetError).code).toBe(ErrorCode.MALFORMED_EVENT);
        }
      }),
    );
  });
});

describe('event message headers and subject', () => {
  it('carries stream, version, type, trace context and the JetStream message id', () => {
    const h = eventMessageHeaders(event);
    expect(h.get('Ratchet-Stream')).toBe('order/eu/2024/17');
    expect(h.get('Ratchet-Version')).toBe('3');
    expect(h.get('Ratchet-Event-Type')).toBe('itemAdded');
    expect(h.get('Nats-Msg-Id')).toBe('order/eu/2024/17:3');
    expect(h.get('traceparent')).toBe(event.metadata.traceparent);
  });

  it('leaves traceparent out when the command had none', () => {
    expect(eventMessageHeaders({ ...event, metadata: {} }).has('traceparent')).toBe(false);
  });

  it.each([
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX-Evil: 1',
    'not a trace',
    42,
  ])('leaves out a stored traceparent that is not valid (%j) instead of failing the publish', (traceparent) => {
    const h = eventMessageHeaders({ ...event, metadata: { traceparent } as unknown as typeof event.metadata });
    expect(h.has('traceparent')).toBe(false);
    expect(h.get('Nats-Msg-Id')).toBe('order/eu/2024/17:3');
  });

  it('publishes on ratchet.evt.<type>.<id>', () => {
    const m = eventMessage(event);
    expect(m.subject).toBe('ratchet.evt.order.eu/2024/17');
    expect(decodeEventMessage(m.data)).toEqual(event);
    expect(m.headers.get('Nats-Msg-Id')).toBe('order/eu/2024/17:3');
  });
});
