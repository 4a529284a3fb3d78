import { describe, expect, it } from 'vitest';
import { Turnstile } from '@ratchet/turnstile';
import { ActorCache } from './actor-cache.js';
import { AggregateActor } from './aggregate-actor.js';

const make = (id: string) => () => new AggregateActor(Turnstile, id, `turnstile/${id}`, 0);

describe('ActorCache', () => {
  it('passivates the least recently used actors past the resident limit', () => {
    const passivated: string[] = [];
    const cache = new ActorCache({ maxResident: 2, onPassivate: (a) => passivated.push(a.id) });
    cache.get('turnstile/a', make('a'));
    cache.get('turnstile/b', make('b'));
    cache.get('turnstile/a', make('a')); // a is now the most recent
    cache.get('turnstile/c', make('c'));
    expect(passivated).toEqual(['b']);
    expect([...cache.values()].map((x) => x.id)).toEqual(['a', 'c']);
  });

  it('never passivates a busy actor', async () => {
    const cache = new ActorCache({ maxResident: 1 });
    const a = cache.get('turnstile/a', make('a'));
    let release!: () => void;
    a.enqueue(() => new Promise<void>((r) => (release = r)));
    cache.get('turnstile/b', make('b'));
    expect([...cache.values()].map((x) => x.id)).toContain('a');
    release();
  });

  it('keeps a new actor when every other one is busy (over the limit until one is idle)', () => {
    const passivated: string[] = [];
    const cache = new ActorCache({ maxResident: 1, onPassivate: (a) => passivated.push(a.id) });
    const a = cache.get('turnstile/a', make('a'));
    a.enqueue(() => new Promise<void>(() => undefined)); // busy for the rest of the test
    const b = cache.get('turnstile/b', make('b'));
    expect(passivated).toEqual([]);
    expect(cache.get('turnstile/b', make('b'))).toBe(b); // the same actor, so its state is kept
  });

  it('sweeps idle actors', () => {
    const cache = new ActorCache({ idleTimeoutMs: 1_000 });
    const a = cache.get('turnstile/a', make('a'));
    cache.get('turnstile/b', make('b'));
    a.lastUsed = Date.now() - 5_000;
    expect(cache.sweep()).toBe(1);
    expect([...cache.values()].map((x) => x.id)).toEqual(['b']);
  });

  it('runs one job at a time per actor, in order', async () => {
    const actor = make('a')();
    const log: string[] = [];
    const job = (name: string) => async () => {
      log.push(`start ${name}`);
      await new Promise((r) => setImmediate(r));
      log.push(`end ${name}`);
    };
    actor.enqueue(job('1'));
    actor.enqueue(job('2'));
    const deadline = Date.now() + 2_000;
    while (actor.busy && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });
});
