import { describe, expect, it } from 'vitest';
import { parseDemoOptions } from './demo-options.js';

describe('parseDemoOptions', () => {
  it('reads the flags with their defaults', () => {
    const o = parseDemoOptions(['--headless', '--duration', '10', '--skew', '0.5']);
    expect(o).toMatchObject({ headless: true, duration: 10, skew: 0.5, workers: 3, turnstiles: 1_000, port: 8090 });
  });

  it('names every bad flag', () => {
    expect(() => parseDemoOptions(['--skew', '2', '--workers', '0'])).toThrow(/--skew[\s\S]*--workers/);
    expect(() => parseDemoOptions(['--bogus'])).toThrow(/usage/);
  });
});
