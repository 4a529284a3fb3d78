import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff-delay.js';

describe('backoffDelay', () => {
  it('doubles the ceiling per attempt up to maxMs', () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, {}, top))).toEqual([24, 49, 99, 199, 399, 499, 499]);
    expect(backoffDelay(3, { initialMs: 10, maxMs: 1000 }, top)).toBe(39);
  });

  it('is fully jittered down to zero', () => {
    expect(backoffDelay(5, {}, () => 0)).toBe(0);
    expect(backoffDelay(5, {}, () => 0.5)).toBe(200);
  });
});
