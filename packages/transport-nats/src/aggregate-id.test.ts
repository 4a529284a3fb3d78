import { describe, expect, it } from 'vitest';
import { ErrorCode, RatchetError, ValidationError } from '@ratchet/core';
import { validateAggregateId, validateAggregateType } from './aggregate-id.js';

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof RatchetError ? err.code : 'not a RatchetError';
  }
}

describe('validateAggregateId', () => {
  it.each(['a', 'turnstile-1', 'user:alice@acme', 'x'.repeat(128), '日本', 'a/b', 'A_B-c~9'])('accepts %j', (id) => {
    expect(codeOf(() => validateAggregateId(id))).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['a dot', 'a.b'],
    ['a star', 'a*'],
    ['a gt', 'a>'],
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['a newline', 'a\nb'],
    ['a NUL', 'a\u0000'],
    ['DEL', 'a\u007f'],
    ['a C1 control', 'a\u0085'],
    ['a no-break space', 'a\u00a0b'],
  ])('rejects %s', (_what, id) => {
    expect(codeOf(() => validateAggregateId(id))).toBe(ErrorCode.INVALID_ID);
  });

  it.each([42, null, undefined, {}, ['a']])('rejects the non-string %j', (id) => {
    expect(codeOf(() => validateAggregateId(id))).toBe(ErrorCode.INVALID_ID);
  });

  it('counts length in UTF-16 code units', () => {
    // 64 astral characters are 128 code units: accepted; one more is 130: rejected.
    expect(codeOf(() => validateAggregateId('🚀'.repeat(64)))).toBeUndefined();
    expect(codeOf(() => validateAggregateId('🚀'.repeat(65)))).toBe(ErrorCode.INVALID_ID);
  });
});

describe('validateAggregateType', () => {
  it.each(['turnstile', 'a', 'order-line2', `a${'b'.repeat(63)}`])('accepts %j', (type) => {
    expect(() => validateAggregateType(type)).not.toThrow();
  });

  it.each(['', 'Turnstile', '1st', '-a', 'a.b', 'a_b', 'a b', `a${'b'.repeat(64)}`, 7])('rejects %j', (type) => {
    expect(() => validateAggregateType(type)).toThrow(ValidationError);
  });
});
