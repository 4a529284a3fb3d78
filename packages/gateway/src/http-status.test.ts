import { ErrorCode } from '@ratchet/core';
import { describe, expect, it } from 'vitest';
import type { GatewayResult } from './gateway-result.js';
import { HTTP_STATUS, httpStatusOf, retryAfterOf } from './http-status.js';

const ok: GatewayResult = { status: 'ok', version: 2, events: [], duplicate: false, commandId: 'c', attempts: 1 };
const error = (code: string, retryable: boolean, details?: Record<string, unknown>): GatewayResult => ({
  status: 'error',
  error: { code, message: 'm', retryable, ...(details === undefined ? {} : { details }) },
  attempts: 0,
});

describe('httpStatusOf', () => {
  it('answers ok and a duplicate alike with 200, and 202 only when a wait did not catch up', () => {
    expect(httpStatusOf(ok)).toBe(200);
    expect(httpStatusOf({ ...ok, duplicate: true })).toBe(200);
    expect(httpStatusOf({ ...ok, waited: true })).toBe(200);
    expect(httpStatusOf({ ...ok, waited: false })).toBe(202);
  });

  it('answers a rejection 409', () => {
    expect(httpStatusOf({ status: 'rejected', reason: 'no', version: 0, commandId: 'c', attempts: 1 })).toBe(409);
  });

  it.each(Object.values(ErrorCode))('gives %s the status of the table', (code) => {
    const expected: Record<string, number> = HTTP_STATUS.errors;
    expect(httpStatusOf(error(code, false))).toBe(expected[code]);
  });

  it('picks the documented statuses of the codes the brief names', () => {
    expect(httpStatusOf(error('VALIDATION_FAILED', false))).toBe(400);
    expect(httpStatusOf(error('VERSION_CONFLICT', false))).toBe(409);
    expect(httpStatusOf(error('UNAVAILABLE', true))).toBe(503);
    expect(httpStatusOf(error('OVERLOADED', true))).toBe(503);
    expect(httpStatusOf(error('TIMEOUT', true))).toBe(504);
    expect(httpStatusOf(error('PAYLOAD_TOO_LARGE', false))).toBe(413);
    expect(httpStatusOf(error('UNKNOWN_AGGREGATE', false))).toBe(404);
  });

  it('refines MALFORMED_REQUEST by reason, and only by the reasons of the table', () => {
    expect(httpStatusOf(error('MALFORMED_REQUEST', false, { reason: 'unsupported-media-type' }))).toBe(415);
    expect(httpStatusOf(error('MALFORMED_REQUEST', false, { reason: 'method-not-allowed' }))).toBe(405);
    expect(httpStatusOf(error('MALFORMED_REQUEST', false, { reason: 'no-route' }))).toBe(404);
    expect(httpStatusOf(error('MALFORMED_REQUEST', true, { reason: 'body-timeout' }))).toBe(408);
    expect(httpStatusOf(error('MALFORMED_REQUEST', false, { reason: 'not-json' }))).toBe(400);
    expect(httpStatusOf(error('MALFORMED_REQUEST', false, { reason: 'toString' }))).toBe(400);
  });

  it('answers a code it does not know (a newer worker) by its retryable flag', () => {
    expect(httpStatusOf(error('SOMETHING_NEW', true))).toBe(503);
    expect(httpStatusOf(error('SOMETHING_NEW', false))).toBe(500);
  });
});

describe('retryAfterOf', () => {
  it('is set on retryable 503s only', () => {
    expect(retryAfterOf(error('OVERLOADED', true), 503, 2)).toBe(2);
    expect(retryAfterOf(error('UNAVAILABLE', false), 503, 2)).toBeUndefined();
    expect(retryAfterOf(error('TIMEOUT', true), 504, 2)).toBeUndefined();
    expect(retryAfterOf(ok, 200, 2)).toBeUndefined();
  });
});
