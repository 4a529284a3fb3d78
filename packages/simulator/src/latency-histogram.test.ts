import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './latency-histogram.js';

describe('LatencyHistogram', () => {
  it('gives percentiles within 4% of the exact value', () => {
    const h = new LatencyHistogram();
    for (let ms = 1; ms <= 1_000; ms++) h.record(ms);
    expect(h.count).toBe(1_000);
    expect(h.percentile(0.5)).toBeGreaterThanOrEqual(500);
    expect(h.percentile(0.5)).toBeLessThanOrEqual(520);
    expect(h.percentile(0.99)).toBeGreaterThanOrEqual(990);
    expect(h.percentile(0.99)).toBeLessThanOrEqual(1_000);
    expect(h.maxMs).toBe(1_000);
  });

  it('merges and reports 0 when empty', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    expect(a.percentile(0.5)).toBe(0);
    b.record(10);
    b.record(10);
    a.record(100);
    a.merge(b);
    expect(a.count).toBe(3);
    expect(a.percentile(0.5)).toBeLessThan(11);
    expect(a.percentile(1)).toBe(100);
  });
});
