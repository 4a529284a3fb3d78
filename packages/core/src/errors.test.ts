import { describe, expect, it } from 'vitest';
import { ErrorCode, FencedError, RatchetError, ValidationError, VersionConflictError, errorFromData } from './errors.js';

describe('errors', () => {
  it('round-trip through their wire form keeping class, code and details', () => {
    const samples = [
      new VersionConflictError('turnstile-1', 3, 5),
      new FencedError(7, 2, 3),
      new ValidationError('bad', [{ path: ['a', 0], message: 'required' }]),
      new RatchetError(ErrorCode.OVERLOADED, 'queue full'),
    ];
    for (const error of samples) {
      const back = errorFromData(JSON.parse(JSON.stringify(error)));
      expect(back.constructor).toBe(error.constructor);
      expect(back.code).toBe(error.code);
      expect(back.retryable).toBe(error.retryable);
      expect(back.details).toEqual(error.details);
    }
  });

  it('say whether a retry can help', () => {
    expect(new RatchetError(ErrorCode.OVERLOADED, 'x').retryable).toBe(true);
    expect(new VersionConflictError('s', 1, 2).retryable).toBe(false);
    expect(new RatchetError(ErrorCode.INTERNAL, 'x', { retryable: true }).retryable).toBe(true);
  });

  it('keep the cause', () => {
    const cause = new Error('socket closed');
    expect(new RatchetError(ErrorCode.STORE_UNAVAILABLE, 'down', { cause }).cause).toBe(cause);
  });
});
