import { Turnstile } from '@ratchet/turnstile';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createSimulator } from './simulator.js';
import { pickRiderScript, pickTurnstile, turnstileIds } from './rider-script.js';

type State = ReturnType<typeof Turnstile.initialState>;

/** A client that decides against in-memory turnstiles, as a worker would. */
function fakeClient() {
  const states = new Map<string, State>();
  const client = {
    async send(_a: unknown, id: string, command: { type: 'install' | 'insertCoin' | 'pushArm'; payload: object }) {
      await sleep(0);
      const state = states.get(id) ?? Turnstile.initialState();
      const decision = Turnstile.decide({ type: command.type, payload: {} } as never, state);
      if (decision.status === 'rejected')
        return { status: 'rejected', reason: decision.reason, version: state.version, commandId: 'x', attempts: 1 };
      states.set(id, decision.state);
      return { status: 'ok', version: decision.state.version, events: [], duplicate: false, commandId: 'x', attempts: 1 };
    },
  };
  return { client: client as never, states };
}

describe('simulator', () => {
  it('installs the turnstiles, then rides them; rejections are counted apart from failures', async () => {
    const { client, states } = fakeClient();
    const sim = createSimulator({ client, turnstiles: 100, riders: 8, lateFraction: 0.1, skew: 0.5, random: seeded(7) });
    sim.start();
    await sleep(300);
    await sim.stop();
    const stats = sim.stats();
    expect(stats.failed).toBe(0);
    expect(stats.sent).toBe(stats.ok + stats.rejected);
    expect(stats.sent).toBeGreaterThan(200);
    expect(stats.rejected).toBeGreaterThan(0); // riders met late turnstiles
    expect(stats.inFlight).toBe(0);
    const installed = [...states.values()].filter((s) => !s.snapshot.matches('not-installed')).length;
    expect(installed).toBeGreaterThanOrEqual(90);
    const hot = states.get('t-0000')!.version;
    const cold = states.get('t-0050')?.version ?? 0;
    expect(hot).toBeGreaterThan(cold);
  });

  it('sends technicians to random stations when asked, counted apart from the riders', async () => {
    const { client } = fakeClient();
    const completions: string[] = [];
    const withStations = {
      send: (a: { type: string }, id: string, command: { type: string }) => {
        if (a.type !== 'station') return (client as { send: (...x: unknown[]) => unknown }).send(a, id, command);
        completions.push(`${id} ${command.type}`);
        return Promise.resolve({
          status: completions.length % 2 === 0 ? 'ok' : 'rejected',
          reason: 'no visit to complete',
          version: 1,
          events: [],
          duplicate: false,
          commandId: 'x',
          attempts: 1,
        });
      },
    };
    const sim = createSimulator({ client: withStations as never, turnstiles: 10, riders: 2, technicianEveryMs: 20, rate: 50 });
    sim.start();
    await sleep(400);
    await sim.stop();
    const { technicians, sent, ok, rejected } = sim.stats();
    expect(technicians.sent).toBeGreaterThan(3);
    expect(technicians.sent).toBe(completions.length);
    expect(technicians.completed + technicians.rejected).toBe(technicians.sent);
    expect(completions.every((c) => /^s-\d\d completeVisit$/.test(c))).toBe(true);
    expect(sent).toBe(ok + rejected); // the riders' counts hold only rider commands
  });

  it('paces commands to the target rate', async () => {
    const { client } = fakeClient();
    const sim = createSimulator({ client, turnstiles: 10, riders: 4, rate: 100, lateFraction: 0 });
    sim.start();
    await sleep(1_000);
    await sim.stop();
    expect(sim.stats().sent).toBeLessThanOrEqual(105); // 100/s, no burst
  });
});

describe('rider scripts', () => {
  it('picks hot turnstiles with the skew and pads ids', () => {
    expect(pickTurnstile(0.1, 0.99, 1_000, 0.2, 5)).toBe(4);
    expect(pickTurnstile(0.3, 0.99, 1_000, 0.2, 5)).toBe(990);
    expect(turnstileIds(3)).toEqual(['t-0000', 't-0001', 't-0002']);
    expect(pickRiderScript(0)).toEqual(['insertCoin', 'pushArm']);
    expect(pickRiderScript(0.999)).toEqual(['insertCoin', 'pushArm', 'pushArm']);
  });
});

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
