import { describe, expect, it } from 'vitest';
import { formatJsonCell, formatRanges, formatTable } from './format-table.js';
import { formatProgress } from './progress-bar.js';

describe('CLI formatting', () => {
  it('compresses partitions into ranges', () => {
    expect(formatRanges([7, 0, 1, 2, 5, 8])).toBe('0-2,5,7-8');
    expect(formatRanges([])).toBe('');
  });

  it('aligns table columns without trailing spaces', () => {
    expect(
      formatTable(
        ['A', 'LONG'],
        [
          ['xyz', '1'],
          ['q', ''],
        ],
      ),
    ).toBe('A    LONG\nxyz  1\nq');
  });

  it('cuts long JSON cells', () => {
    expect(formatJsonCell({ a: 'x'.repeat(100) }, 10)).toHaveLength(10);
  });

  it('renders progress with rate and ETA', () => {
    expect(formatProgress({ done: 250, total: 1000, rate: 50 }, 4)).toBe('[#...]  250/1000  25%  50 ev/s  ETA 15s');
    expect(formatProgress({ done: 0, total: 0, rate: 0 }, 2)).toBe('[##]  0/0  100%  0 ev/s  ETA ?');
  });
});
