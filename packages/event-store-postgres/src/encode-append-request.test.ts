import { ValidationError } from '@ratchet/core';
import { describe, expect, it } from 'vitest';
import { encodeAppendRequest, STREAM_ID_MAX_LENGTH } from './encode-append-request.js';
import type { AppendRequest } from './append-request.js';

const good: AppendRequest = { streamId: 's-1', expectedVersion: 0, events: [{ type: 'a', data: { n: 1 } }] };

function issuesOf(request: unknown): unknown[] {
  try {
    encodeAppendRequest(request as AppendRequest);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues.map((i) => i.path);
  }
  throw new Error('expected a ValidationError');
}

describe('encodeAppendRequest', () => {
  it('encodes a valid request as the JSON append_batch expects', () => {
    const encoded = encodeAppendRequest({
      ...good,
      expectedVersion: 'any',
      commandId: 'c-1',
      requestHash: 'h',
      fence: { partition: 3, epoch: 2 },
      metadata: { correlationId: 'k', causationId: 'outer' },
      events: [{ type: 'a', data: { d: new Date(0), u: undefined }, schemaVersion: 2, metadata: { causationId: 'inner' } }],
    });
    expect(JSON.parse(encoded.json)).toEqual({
      streamId: 's-1',
      expectedVersion: null,
      commandId: 'c-1',
      requestHash: 'h',
      fence: { partition: 3, epoch: 2 },
      events: [
        {
          type: 'a',
          schemaVersion: 2,
          data: { d: '1970-01-01T00:00:00.000Z' },
          metadata: { correlationId: 'k', causationId: 'inner', commandId: 'c-1' },
        },
      ],
    });
    expect(encoded.events[0]).toMatchObject({ schemaVersion: 2, dataJson: '{"d":"1970-01-01T00:00:00.000Z"}' });
  });

  it('reports every issue of a bad request, with its path', () => {
    expect(
      issuesOf({
        streamId: 'x'.repeat(STREAM_ID_MAX_LENGTH + 1),
        expectedVersion: -1,
        commandId: '',
        fence: { partition: -1, epoch: 0 },
        events: [{ type: '', data: 1n }, 'nope'],
      }),
    ).toEqual([
      ['streamId'],
      ['expectedVersion'],
      ['commandId'],
      ['fence', 'partition'],
      ['fence', 'epoch'],
      ['events', 0, 'type'],
      ['events', 0, 'data'],
      ['events', 1],
    ]);
  });

  it.each([
    ['empty events', { ...good, events: [] }],
    ['events not an array', { ...good, events: 'a' }],
    ['expected version as a string', { ...good, expectedVersion: '0' }],
    ['fractional expected version', { ...good, expectedVersion: 0.5 }],
    ['empty stream id', { ...good, streamId: '' }],
    ['stream id not a string', { ...good, streamId: 7 }],
    ['non-finite number in data', { ...good, events: [{ type: 'a', data: { x: Infinity } }] }],
    ['NUL in data', { ...good, events: [{ type: 'a', data: 'a\u0000b' }] }],
    ['undefined data', { ...good, events: [{ type: 'a', data: undefined }] }],
    ['function in data', { ...good, events: [{ type: 'a', data: { f: () => 0 } }] }],
    ['metadata not an object', { ...good, metadata: [1] }],
  ])('refuses %s', (_name, request) => {
    expect(issuesOf(request).length).toBeGreaterThan(0);
  });

  it('accepts the longest stream id', () => {
    expect(encodeAppendRequest({ ...good, streamId: 'x'.repeat(STREAM_ID_MAX_LENGTH) }).streamId).toHaveLength(STREAM_ID_MAX_LENGTH);
  });
});
