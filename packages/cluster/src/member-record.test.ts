import { describe, expect, it } from 'vitest';
import { parseMemberRecord } from './member-record.js';

describe('parseMemberRecord', () => {
  const good = { workerId: 'w1', startedAt: 'a', heartbeatAt: 'b', info: { httpPort: 1 } };

  it('accepts a record whose id matches its key', () => {
    expect(parseMemberRecord('w1', good)).toEqual(good);
  });

  it('ignores foreign or corrupt values', () => {
    expect(parseMemberRecord('w2', good)).toBeUndefined();
    expect(parseMemberRecord('w1', { ...good, info: [] })).toBeUndefined();
    expect(parseMemberRecord('w1', { ...good, heartbeatAt: 5 })).toBeUndefined();
    expect(parseMemberRecord('w1', 'w1')).toBeUndefined();
    expect(parseMemberRecord('w1', null)).toBeUndefined();
  });
});
