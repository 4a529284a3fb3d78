import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, RatchetError, ValidationError } from '@ratchet/core';
import { encodeCommandRequest, type CommandRequest } from './command-request.js';
import { parseCommandRequest } from './parse-command-request.js';

const utf8 = new TextEncoder();
const bytes = (v: unknown): Uint8Array => utf8.encode(typeof v === 'string' ? v : JSON.stringify(v));
const valid = { id: 'turnstile-1', command: { type: 'insertCoin', payload: {} }, commandId: 'c-1' };

function failure(data: Uint8Array, maxBytes?: number): RatchetError {
  try {
    parseCommandRequest(data, maxBytes === undefined ? {} : { maxBytes });
  } catch (err) {
    if (err instanceof RatchetError) return err;
    throw new Error(`threw a non-RatchetError: ${String(err)}`);
  }
  throw new Error('parsed');
}

describe('parseCommandRequest', () => {
  it('round-trips what encodeCommandRequest writes', () => {
    const request: CommandRequest = {
      id: 'a/b',
      command: { type: 'pushArm', payload: { n: [1, 'x', null] } },
      commandId: '0f6c3f0e-5a4b-4d1e-9a51-2d3c4b5a6978',
      expectedVersion: 0,
      metadata: { correlationId: 'corr', causationId: 'cause', tenant: 'acme' },
    };
    expect(parseCommandRequest(encodeCommandRequest(request))).toEqual(request);
  });

  it('defaults the payload to {}', () => {
    const { command } = parseCommandRequest(bytes({ ...valid, command: { type: 'install' } }));
    expect(command).toEqual({ type: 'install', payload: {} });
  });

  it('checks the size before parsing', () => {
    const big = bytes('x'.repeat(70_000)); // not JSON either: size must win
    const err = failure(big);
    expect(err.code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
    expect(err.details).toEqual({ size: 70_000, limit: 65_536 });
    expect(failure(bytes(valid), 10).code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
  });

  it.each([
    ['not JSON', bytes('{"id":')],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['empty', new Uint8Array()],
  ])('rejects %s as MALFORMED_REQUEST', (_what, data) => {
    expect(failure(data).code).toBe(ErrorCode.MALFORMED_REQUEST);
  });

  it('refuses a UTF-8 byte-order mark before the JSON as MALFORMED_REQUEST (docs/protocol.md section 5)', () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes(valid)]);
    const err = failure(withBom);
    expect(err.code).toBe(ErrorCode.MALFORMED_REQUEST);
    expect(err.message).toMatch(/byte-order mark/);
    // The same bytes without it are a valid request.
    expect(parseCommandRequest(bytes(valid)).id).toBe('turnstile-1');
  });

  it('takes expectedVersion as any JSON number with an integer value up to 2^53 - 1', () => {
    expect(parseCommandRequest(bytes(`{"id":"t","command":{"type":"x"},"commandId":"c","expectedVersion":5.0}`)).expectedVersion).toBe(5);
    expect(parseCommandRequest(bytes(`{"id":"t","command":{"type":"x"},"commandId":"c","expectedVersion":5e0}`)).expectedVersion).toBe(5);
    expect(parseCommandRequest(bytes({ ...valid, expectedVersion: Number.MAX_SAFE_INTEGER })).expectedVersion).toBe(2 ** 53 - 1);
    for (const text of ['9007199254740992', '9007199254740993', '1e300', '-0.5']) {
      const err = failure(bytes(`{"id":"t","command":{"type":"x"},"commandId":"c","expectedVersion":${text}}`));
      expect(err.code).toBe(ErrorCode.VALIDATION_FAILED);
      expect(err.details.issues).toEqual([{ path: ['expectedVersion'], message: 'must be a non-negative integer' }]);
    }
  });

  it.each([
    '',
    'has space',
    'ü',
    'a/b',
    'c'.repeat(129),
  ])('answers a bad commandId %j with VALIDATION_FAILED at ["commandId"]', (commandId) => {
    const err = failure(bytes({ ...valid, commandId }));
    expect(err.code).toBe(ErrorCode.VALIDATION_FAILED);
    expect((err.details.issues as Array<{ path: unknown[] }>).map((i) => i.path)).toEqual([['commandId']]);
  });

  it('limits nesting depth', () => {
    const nest = (n: number): unknown => (n === 0 ? {} : { a: nest(n - 1) });
    // envelope (1) → command (2) → payload (3) → 29 more levels = 32: accepted; one more: not.
    expect(() => parseCommandRequest(bytes({ ...valid, command: { type: 't', payload: nest(29) } }))).not.toThrow();
    const err = failure(bytes({ ...valid, command: { type: 't', payload: nest(30) } }));
    expect(err.code).toBe(ErrorCode.MALFORMED_REQUEST);
    expect(failure(bytes('['.repeat(20_000) + ']'.repeat(20_000))).code).toBe(ErrorCode.MALFORMED_REQUEST);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the key %s at any depth, naming the path', (key) => {
    const text = `{"id":"x","commandId":"c","command":{"type":"t","payload":{"list":[{"${key}":{"polluted":true}}]}}}`;
    const err = failure(bytes(text));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.code).toBe(ErrorCode.VALIDATION_FAILED);
    expect(err.details.issues).toEqual([{ path: ['command', 'payload', 'list', 0, key], message: `forbidden key "${key}"` }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('lists every envelope issue', () => {
    const err = failure(
      bytes({ id: 7, command: { type: '', extra: 1 }, commandId: 'has space', expectedVersion: -1, metadata: { a: 1 }, x: 0 }),
    );
    expect(err.code).toBe(ErrorCode.VALIDATION_FAILED);
    const paths = (err.details.issues as Array<{ path: unknown[] }>).map((i) => i.path.join('.'));
    expect(paths.sort()).toEqual(['command.extra', 'command.type', 'commandId', 'expectedVersion', 'id', 'metadata.a', 'x']);
  });

  it.each([
    ['an array', []],
    ['a string', '"hi"'],
    ['null', null],
    ['a missing command', { id: 'x', commandId: 'c' }],
    ['a fractional expectedVersion', { ...valid, expectedVersion: 1.5 }],
    ['a null expectedVersion', { ...valid, expectedVersion: null }],
    ['a 129-char commandId', { ...valid, commandId: 'c'.repeat(129) }],
  ])('rejects %s as VALIDATION_FAILED', (_what, value) => {
    expect(failure(bytes(value)).code).toBe(ErrorCode.VALIDATION_FAILED);
  });

  it.each([
    ['empty', ''],
    ['a dot', 'a.b'],
    ['a wildcard', 'a>'],
    ['a space', 'a b'],
    ['129 chars', 'x'.repeat(129)],
  ])('rejects an id with %s as INVALID_ID after the envelope', (_what, id) => {
    expect(failure(bytes({ ...valid, id })).code).toBe(ErrorCode.INVALID_ID);
  });

  it('throws only RatchetError for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (data) => {
        try {
          parseCommandRequest(data);
          return true;
        } catch (err) {
          return err instanceof RatchetError;
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('throws only RatchetError or returns a valid request for any JSON', () => {
    const envelopeish = fc.record(
      {
        id: fc.oneof(fc.string(), fc.jsonValue()),
        command: fc.oneof(fc.record({ type: fc.string(), payload: fc.jsonValue() }, { requiredKeys: [] }), fc.jsonValue()),
        commandId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_:.-]{0,130}$/), fc.jsonValue()),
        expectedVersion: fc.oneof(fc.integer({ min: -2 }), fc.jsonValue()),
        metadata: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
        __proto__: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), envelopeish), (value) => {
        const data = bytes(JSON.stringify(value) ?? 'null');
        try {
          const request = parseCommandRequest(data);
          // Anything accepted must survive a round trip unchanged.
          return JSON.stringify(parseCommandRequest(encodeCommandRequest(request))) === JSON.stringify(request);
        } catch (err) {
          return err instanceof RatchetError;
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
