import { ErrorCode, RatchetError, VersionConflictError } from '@ratchet/core';
import { describe, expect, it } from 'vitest';
import { isTransientConflict, toStoreError } from './store-error.js';

const pgError = (code: string, message = 'boom'): Error => Object.assign(new Error(message), { code });

describe('toStoreError', () => {
  it('maps connection failures to a retryable STORE_UNAVAILABLE, keeping the cause', () => {
    for (const err of [
      pgError('ECONNREFUSED'),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('08006'),
      new Error('Connection terminated unexpectedly'),
    ]) {
      const mapped = toStoreError(err, 'append');
      expect(mapped).toMatchObject({ code: ErrorCode.STORE_UNAVAILABLE, retryable: true });
      expect(mapped.cause).toBe(err);
    }
  });

  it('maps other failures to INTERNAL and passes Ratchet errors through', () => {
    expect(toStoreError(pgError('23505'), 'append')).toMatchObject({
      code: ErrorCode.INTERNAL,
      retryable: false,
      details: { pgCode: '23505' },
    });
    const conflict = new VersionConflictError('s', 1, 2);
    expect(toStoreError(conflict, 'append')).toBe(conflict);
    expect(toStoreError('weird', 'append')).toBeInstanceOf(RatchetError);
  });

  it('recognises deadlocks and serialization failures as retryable transactions', () => {
    expect(isTransientConflict(pgError('40P01'))).toBe(true);
    expect(isTransientConflict(pgError('40001'))).toBe(true);
    expect(isTransientConflict(pgError('23505'))).toBe(false);
  });
});
