import { describe, expect, it } from 'vitest';
import { ErrorCode, RatchetError } from './errors.js';
import { requireEntry, requireItem } from './require.js';

describe('requireEntry / requireItem', () => {
  it('return what is there', () => {
    expect(requireEntry(new Map([['a', 1]]), 'a', 'count of')).toBe(1);
    expect(requireEntry(new Map([['a', 0]]), 'a', 'count of')).toBe(0);
    expect(requireItem(['x', 'y'], 1, 'letter')).toBe('y');
    expect(requireItem([null], 0, 'nothing')).toBeNull();
  });

  it('throw an INTERNAL error naming what is missing', () => {
    const missing = (f: () => unknown): RatchetError => {
      try {
        f();
      } catch (error) {
        if (error instanceof RatchetError) return error;
        throw error;
      }
      throw new Error('did not throw');
    };
    const entry = missing(() => requireEntry(new Map<string, number>(), 'b', 'count of'));
    expect(entry.code).toBe(ErrorCode.INTERNAL);
    expect(entry.message).toBe('count of b is missing');
    const item = missing(() => requireItem(['x'], 3, 'letter'));
    expect(item.code).toBe(ErrorCode.INTERNAL);
    expect(item.message).toBe('letter [3] is missing (length 1)');
  });
});
