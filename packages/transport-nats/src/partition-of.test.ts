import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_PARTITION_COUNT, fnv1a32, partitionOf } from './partition-of.js';

// The same vectors are in docs/protocol.md; they were cross-checked with an independent Python
// implementation. The first three are the published FNV-1a 32-bit test vectors.
const vectors: ReadonlyArray<readonly [string, number, number]> = [
  ['', 0x811c9dc5, 5],
  ['a', 0xe40c292c, 44],
  ['foobar', 0xbf9cf968, 40],
  ['turnstile-1', 0xeb09a465, 37],
  ['turnstile-42', 0xd521af5c, 28],
  ['order-0001', 0x0068ea81, 1],
  ['ü', 0x119dd44a, 10],
  ['日本', 0x9f26ee51, 17],
  ['🚀', 0x7fa78ada, 26],
  ['user:alice@acme', 0x6c706256, 22],
];

describe('partitionOf', () => {
  it.each(vectors)('hashes %j to %i', (id, hash, partition) => {
    expect(fnv1a32(id)).toBe(hash);
    expect(partitionOf(id, 64)).toBe(partition);
  });

  it('defaults to 64 partitions', () => {
    expect(DEFAULT_PARTITION_COUNT).toBe(64);
    expect(partitionOf('turnstile-1')).toBe(37);
  });

  it('is always an integer in [0, partitionCount)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 10_000 }), (id, n) => {
        const p = partitionOf(id, n);
        return Number.isInteger(p) && p >= 0 && p < n;
      }),
    );
  });

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionOf('a', 0)).toThrow(RangeError);
    expect(() => partitionOf('a', 1.5)).toThrow(RangeError);
  });
});
