import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, RatchetError, VersionConflictError } from '@ratchet/core';
import { decodeReply, encodeReply, errorReply, type CommandReply } from './reply.js';

const utf8 = new TextEncoder();

describe('reply codec', () => {
  it.each<CommandReply>([
    { status: 'ok', version: 2, events: [{ version: 2, type: 'coinInserted', schemaVersion: 1, data: {} }], duplicate: false },
    { status: 'ok', version: 2, events: [], duplicate: true },
    { status: 'rejected', reason: 'Turnstile not installed', version: 0 },
    { status: 'error', error: { code: ErrorCode.OVERLOADED, message: 'queue full', retryable: true } },
    { status: 'error', error: { code: ErrorCode.INVALID_ID, message: 'bad', retryable: false, details: { reason: 'x' } } },
  ])('round-trips %j', (reply) => {
    expect(decodeReply(encodeReply(reply))).toEqual(reply);
  });

  it.each([
    ['not JSON', utf8.encode('nope')],
    ['an array', utf8.encode('[]')],
    ['an unknown status', utf8.encode('{"status":"maybe"}')],
    ['an ok without events', utf8.encode('{"status":"ok","version":1,"duplicate":false}')],
    [
      'an event without data',
      utf8.encode('{"status":"ok","version":1,"duplicate":false,"events":[{"version":1,"type":"a","schemaVersion":1}]}'),
    ],
    ['an error without retryable', utf8.encode('{"status":"error","error":{"code":"X","message":"m"}}')],
    ['empty bytes', new Uint8Array()],
  ])('turns %s into MALFORMED_REPLY', (_what, data) => {
    const reply = decodeReply(data);
    expect(reply.status).toBe('error');
    expect(reply.status === 'error' && reply.error.code).toBe(ErrorCode.MALFORMED_REPLY);
  });

  it('never throws on any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (data) => typeof decodeReply(data).status === 'string'));
  });

  it('passes an unknown error code through', () => {
    const reply = decodeReply(utf8.encode('{"status":"error","error":{"code":"FROM_THE_FUTURE","message":"m","retryable":true}}'));
    expect(reply).toEqual({ status: 'error', error: { code: 'FROM_THE_FUTURE', message: 'm', retryable: true } });
  });
});

describe('errorReply', () => {
  it('keeps a RatchetError as data', () => {
    const reply = errorReply(new VersionConflictError('turnstile/t1', 1, 3));
    expect(reply.error).toEqual({
      code: ErrorCode.VERSION_CONFLICT,
      message: 'stream turnstile/t1 is at version 3, expected 1',
      retryable: false,
      details: { streamId: 'turnstile/t1', expectedVersion: 1, actualVersion: 3 },
    });
  });

  it('keeps the retryable override', () => {
    expect(errorReply(new RatchetError(ErrorCode.INTERNAL, 'x', { retryable: true })).error.retryable).toBe(true);
  });

  it('hides the message and stack of anything else', () => {
    const text = JSON.stringify(errorReply(new Error('password=hunter2 at /srv/app.js:1')));
    expect(text).toBe('{"status":"error","error":{"code":"INTERNAL","message":"internal error","retryable":false}}');
    expect(errorReply('a string').error.code).toBe(ErrorCode.INTERNAL);
  });
});
