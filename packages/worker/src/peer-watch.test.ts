import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PeerWatch, type PeerProbe, type PeerWatchOptions } from './peer-watch.js';

const until = async (what: string, ok: () => boolean): Promise<void> => {
  const deadline = Date.now() + 5_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** A probe whose answers the test sets: a set of gone members, a connection id, a count of asks. */
function fakeProbe() {
  const state = {
    gone: new Set<string>(),
    silent: new Set<string>(),
    connection: 'c1',
    asks: 0,
    flaky: new Set<string>(),
    listening: [] as string[],
    listenError: undefined as ((error: Error) => void) | undefined,
  };
  const probe: PeerProbe = {
    listen: (id, onError) => {
      state.listening.push(id);
      state.listenError = onError;
      return async () => {
        state.listening = state.listening.filter((l) => l !== id);
      };
    },
    ask: async (id) => {
      state.asks += 1;
      if (state.flaky.delete(id)) return 'gone'; // gone on one ask only
      if (state.silent.has(id)) return 'silent';
      return state.gone.has(id) ? 'gone' : 'answers';
    },
    connectionId: () => state.connection,
  };
  return { state, probe };
}

/** A watch by member `a`, looking every 10 ms, silent unless the test gives it a logger. */
function watchOf(probe: PeerProbe, options: Partial<PeerWatchOptions> & Pick<PeerWatchOptions, 'members'>): PeerWatch {
  return new PeerWatch({ self: 'a', probe, onChange: () => undefined, intervalMs: 10, logger: pino({ level: 'silent' }), ...options });
}

describe('PeerWatch', () => {
  it('reports a member gone on two asks, takes it back when it answers, and listens on its own subject', async () => {
    const { state, probe } = fakeProbe();
    let changes = 0;
    const watch = watchOf(probe, { members: () => ['a', 'b', 'c'], onChange: () => (changes += 1) });
    watch.start();
    try {
      expect(state.listening).toEqual(['a']);
      state.flaky.add('b'); // one "no responders" alone is not enough
      await until('a few looks', () => state.asks > 12);
      expect([...watch.gone()]).toEqual([]);
      state.gone.add('c');
      await until('c gone', () => watch.gone().has('c'));
      expect(changes).toBe(1);
      state.gone.delete('c');
      await until('c back', () => !watch.gone().has('c'));
      expect(changes).toBe(2);
    } finally {
      await watch.stop();
    }
  });

  it('judges nobody right after its own reconnect (peers may be reconnecting too)', async () => {
    const { state, probe } = fakeProbe();
    const watch = watchOf(probe, { members: () => ['a', 'b'], settleMs: 300 });
    watch.start();
    try {
      await until('a look', () => state.asks > 0);
      state.connection = 'c2'; // reconnected
      state.gone.add('b');
      const asked = state.asks;
      await new Promise((r) => setTimeout(r, 150));
      expect(watch.gone().has('b')).toBe(false);
      expect(state.asks).toBeLessThanOrEqual(asked + 2); // at most the asks already in flight
      await until('b judged gone after the settle time', () => watch.gone().has('b'));
    } finally {
      await watch.stop();
    }
  });

  it('never finds gone a member it has not heard answering (its liveness subscription was refused): the lease decides', async () => {
    const { state, probe } = fakeProbe();
    const logged: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => logged.push(line) });
    const watch = watchOf(probe, { members: () => ['a', 'b', 'c'], logger });
    state.gone.add('b'); // b never answered: "no responders" from the start
    state.silent.add('c'); // c is stopped: its asks time out
    watch.start();
    try {
      await until('many looks', () => state.asks > 30);
      expect([...watch.gone()]).toEqual([]);
      // Once heard, a member is judged: c answers, then its connection closes.
      state.silent.delete('c');
      await until('c heard', () => state.asks > 40);
      state.gone.add('c');
      await until('c gone', () => watch.gone().has('c'));
      expect(watch.gone().has('b')).toBe(false);
      // This worker's own subscription refused: said as an error, naming the subject.
      state.listenError?.(new Error('Permissions Violation for Subscription to "ratchet.worker.a.alive"'));
      expect(logged.join('')).toContain('ratchet.worker.<id>.alive');
    } finally {
      await watch.stop();
    }
  });

  it('judges nobody once it stops judging (a worker leaving), yet still answers for itself until stopped', async () => {
    const { state, probe } = fakeProbe();
    let changes = 0;
    const watch = watchOf(probe, { members: () => ['a', 'b'], onChange: () => (changes += 1) });
    watch.start();
    try {
      await until('b heard', () => state.asks > 3);
      watch.stopJudging();
      const asked = state.asks;
      state.gone.add('b'); // b drains and closes its connection, as every worker does at a Ctrl-C
      await new Promise((r) => setTimeout(r, 150));
      expect(watch.gone().has('b')).toBe(false);
      expect(changes).toBe(0);
      expect(state.asks).toBeLessThanOrEqual(asked + 2); // at most the asks already in flight
      expect(state.listening).toEqual(['a']);
    } finally {
      await watch.stop();
    }
    expect(state.listening).toEqual([]);
  });
});
