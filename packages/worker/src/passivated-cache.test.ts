import { describe, expect, it } from 'vitest';
import { Turnstile } from '@ratchet/turnstile';
import { PassivatedCache, type PassivatedEntry } from './passivated-cache.js';

const installed = { type: 'installed', data: {} };
const coinInserted = { type: 'coinInserted', data: {} };
const armTurned = { type: 'armTurned', data: {} };

const entry = (version: number, snapshotVersion = 0): PassivatedEntry => ({
  version,
  snapshotVersion,
  state: { value: 'locked', context: { coins: version, turns: 0, pushes: 0 } },
});

describe('PassivatedCache', () => {
  it('gives back what was put, once, and a state that restores to the same turnstile', () => {
    const cache = new PassivatedCache();
    const state = Turnstile.replay([installed, coinInserted, coinInserted, armTurned]);
    cache.put('turnstile/a', 7, { version: state.version, snapshotVersion: 3, state: Turnstile.runtime.persist(state) });
    expect(cache.size).toBe(1);
    const got = cache.take('turnstile/a');
    expect(got).toMatchObject({ version: 4, snapshotVersion: 3 });
    const restored = Turnstile.runtime.restore(got!.state, got!.version);
    expect(restored.version).toBe(4);
    expect(restored.snapshot.value).toBe('locked');
    expect(restored.snapshot.context).toEqual({ coins: 2, turns: 1, pushes: 1 });
    // The restored machine takes the next event like the original.
    expect(Turnstile.replay([coinInserted], restored).snapshot.value).toBe('unlocked');
    expect(cache.take('turnstile/a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps a copy, not the live objects', () => {
    const cache = new PassivatedCache();
    const context = { coins: 1, turns: 0, pushes: 0 };
    cache.put('turnstile/a', 0, { version: 2, snapshotVersion: 0, state: { value: 'unlocked', context } });
    context.coins = 99;
    expect(cache.take('turnstile/a')?.state).toEqual({ value: 'unlocked', context: { coins: 1, turns: 0, pushes: 0 } });
  });

  it('keeps states whose JSON holds the separators', () => {
    const cache = new PassivatedCache();
    const state = { value: { a: 'x;y' }, context: { note: '1,2;3', n: [1, 2] } };
    cache.put('s/1', 12, { version: 1234567, snapshotVersion: 1234500, state });
    expect(cache.take('s/1')).toEqual({ version: 1234567, snapshotVersion: 1234500, state });
  });

  it('evicts the least recently passivated entries past the limit', () => {
    const cache = new PassivatedCache({ maxEntries: 2 });
    cache.put('t/a', 0, entry(1));
    cache.put('t/b', 1, entry(2));
    cache.put('t/a', 0, entry(3)); // a again: now the most recent
    cache.put('t/c', 2, entry(4));
    expect(cache.size).toBe(2);
    expect(cache.evictions).toBe(1);
    expect(cache.take('t/b')).toBeUndefined();
    expect(cache.take('t/a')?.version).toBe(3);
    expect(cache.take('t/c')?.version).toBe(4);
  });

  it('keeps nothing when disabled', () => {
    const cache = new PassivatedCache({ maxEntries: 0 });
    expect(cache.enabled).toBe(false);
    cache.put('t/a', 0, entry(1));
    expect(cache.size).toBe(0);
    expect(cache.take('t/a')).toBeUndefined();
    expect(() => new PassivatedCache({ maxEntries: -1 })).toThrow(RangeError);
    expect(() => new PassivatedCache({ maxEntries: 1.5 })).toThrow(RangeError);
  });

  it('never returns an entry of a dropped partition, and purges it', () => {
    const cache = new PassivatedCache();
    cache.put('t/a', 3, entry(1));
    cache.put('t/b', 3, entry(2));
    cache.put('t/c', 4, entry(3));
    expect(cache.dropPartition(3)).toBe(2);
    expect(cache.size).toBe(1);
    expect(cache.take('t/a')).toBeUndefined();
    expect(cache.size).toBe(1);
    // Passivated again after the partition came back: usable.
    cache.put('t/d', 3, entry(4));
    expect(cache.size).toBe(2);
    expect(cache.purge()).toBe(true); // frees t/b
    expect(cache.purge()).toBe(true);
    expect(cache.size).toBe(2);
    expect(cache.take('t/b')).toBeUndefined();
    expect(cache.take('t/d')?.version).toBe(4);
    expect(cache.take('t/c')?.version).toBe(3);
    expect(cache.size).toBe(0);
  });

  it('counts right when a stale entry is replaced or evicted', () => {
    const cache = new PassivatedCache({ maxEntries: 2 });
    cache.put('t/a', 1, entry(1));
    cache.put('t/b', 2, entry(2));
    cache.dropPartition(1);
    expect(cache.size).toBe(1);
    cache.put('t/a', 1, entry(5)); // replaces the stale one
    expect(cache.size).toBe(2);
    cache.dropPartition(2);
    cache.put('t/c', 0, entry(6)); // evicts stale t/b (the oldest)
    expect(cache.size).toBe(2);
    expect(cache.purge()).toBe(true);
    expect(cache.take('t/a')?.version).toBe(5);
    expect(cache.take('t/c')?.version).toBe(6);
    expect(cache.size).toBe(0);
  });

  it('purges in slices, and finds entries invalidated behind an unfinished pass', () => {
    const cache = new PassivatedCache();
    for (let i = 0; i < 100; i += 1) cache.put(`t/${i}`, i % 4, entry(i + 1));
    cache.dropPartition(3); // every 4th entry, from t/3 on
    expect(cache.size).toBe(75);
    expect(cache.purge(10)).toBe(false);
    cache.dropPartition(0); // t/0 is behind the pass now
    expect(cache.size).toBe(50);
    let slices = 1;
    while (!cache.purge(10)) slices += 1;
    expect(slices).toBeGreaterThan(5);
    // Everything left is usable, and nothing usable was freed.
    const left: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      const got = cache.take(`t/${i}`);
      if (got !== undefined) left.push(i);
    }
    expect(left).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((i) => i % 4 === 1 || i % 4 === 2));
    expect(cache.size).toBe(0);
  });

  it('refuses what it could not give back', () => {
    const cache = new PassivatedCache();
    expect(() => cache.put('t/a', -1, entry(1))).toThrow(RangeError);
    expect(() => cache.put('t/a', 0, entry(1.5))).toThrow(RangeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => cache.put('t/a', 0, { version: 1, snapshotVersion: 0, state: { value: 'x', context: cyclic } })).toThrow();
    expect(cache.size).toBe(0);
  });
});
