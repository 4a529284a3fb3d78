// The technician dispatch's runner (a projector service running only processes) killed with
// SIGKILL at each step of a batch — before a command is sent, after every command is answered but
// before the checkpoint, after the checkpoint but before the acks (redelivery) — and two runners
// sharing the consumer with one killed (handover): once a clean runner has caught up, the checker's
// C12 finds every command committed at most once, every event's commands answered, and the stored
// states equal to a replay of the streams.
import { waitFor, type ServiceProcess } from '@ratchet/launchers';
import { ProcessCrashPoint } from '@ratchet/process/runner';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runRatchet } from '../cli/run-ratchet.js';
import { commandCounts, journaledAnswers, startProcessFaultEnv, startRiders, unloggedCommits, type ProcessFaultEnv } from './support.js';

let env: ProcessFaultEnv;
const started: ServiceProcess[] = [];

beforeAll(async () => {
  env = await startProcessFaultEnv('proccrash');
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop(5_000)));
});
afterAll(async () => {
  await env?.close();
});

async function runner(extra: Record<string, string> = {}): Promise<ServiceProcess> {
  const p = await env.startRunner(extra);
  started.push(p);
  return p;
}

/** A counter from a runner's /metrics, summed over its labels. */
async function metric(p: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(p.ready.httpPort)}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Catch up with a clean runner, then C12 must pass and have looked at real work. */
async function expectExactlyOnce(): Promise<void> {
  const clean = await runner();
  await env.caughtUp();
  const result = await env.check();
  expect(result.violations).toEqual([]);
  expect(result.checked).toBeGreaterThan(100);
  expect(await unloggedCommits(env.pool)).toBe(0);
  console.log(`C12 checked ${result.checked}, 0 violations; commands ${JSON.stringify(await commandCounts(env.pool))}`);
  await clean.stop(10_000);
}

describe('technician dispatch under SIGKILL', () => {
  it.each([
    [ProcessCrashPoint.BEFORE_EMIT, 5],
    [ProcessCrashPoint.AFTER_EMIT_BEFORE_CHECKPOINT, 3],
  ])(
    'SIGKILL at %s (hit %i), restart: every command once, every event answered',
    async (point, after) => {
      const before = await commandCounts(env.pool).catch(() => ({ ok: 0, rejected: 0, failed: 0 }));
      const armed = await runner({ RATCHET_CRASH_POINT: point, RATCHET_CRASH_AFTER: String(after) });
      const load = startRiders(env.client, { prefix: `k${after}`, turnstiles: 40 });
      try {
        expect(await armed.exited).toBe('SIGKILL');
        expect(armed.stderr.some((l) => l.includes(`crash point ${point} reached`))).toBe(true);
        if (point === ProcessCrashPoint.AFTER_EMIT_BEFORE_CHECKPOINT) {
          // Died with its batch's commands answered — committed in a station, or refused and journaled —
          // and none of them in its log: the re-run must get exactly those answers again.
          expect((await unloggedCommits(env.pool)) + (await journaledAnswers(env.pool))).toBeGreaterThan(0);
        }
        // Keep the riders going through the restart.
        await runner();
        await waitFor(async () => (await commandCounts(env.pool)).ok > before.ok + 2, {
          what: 'calls answered after the restart',
          timeoutMs: 60_000,
        });
      } finally {
        await load.stop();
      }
      await Promise.all(started.splice(0).map((p) => p.stop(10_000)));
      await expectExactlyOnce();
      const counts = await commandCounts(env.pool);
      // Both paths happened: calls accepted and calls refused (a visit already on).
      expect(counts.ok).toBeGreaterThan(0);
      expect(counts.rejected).toBeGreaterThan(0);
    },
    180_000,
  );

  it('SIGKILL after the checkpoint, before the acks: the redelivered batch is dropped, nothing sent twice', async () => {
    const armed = await runner({ RATCHET_CRASH_POINT: ProcessCrashPoint.AFTER_CHECKPOINT_BEFORE_ACK, RATCHET_CRASH_AFTER: '2' });
    const load = startRiders(env.client, { prefix: 'ack', turnstiles: 30 });
    let restarted: ServiceProcess;
    try {
      expect(await armed.exited).toBe('SIGKILL');
      restarted = await runner();
      // The unacked messages come back after the ack wait (2 s) and are dropped by the positions.
      await waitFor(async () => (await metric(restarted, 'ratchet_process_events_duplicate_total')) > 0, {
        what: 'the redelivered batch to be dropped',
        timeoutMs: 30_000,
      });
    } finally {
      await load.stop();
    }
    await Promise.all(started.splice(0).map((p) => p.stop(10_000)));
    await expectExactlyOnce();
  }, 180_000);

  it('two runners share the consumer; one is SIGKILLed mid-load: the other takes its events over', async () => {
    const [a, b] = [await runner(), await runner()];
    const load = startRiders(env.client, { prefix: 'ho', turnstiles: 60 });
    try {
      await waitFor(
        async () =>
          (await metric(a, 'ratchet_process_events_handled_total')) > 20 && (await metric(b, 'ratchet_process_events_handled_total')) > 20,
        {
          what: 'both runners handling events',
          timeoutMs: 60_000,
        },
      );
      a.kill('SIGKILL');
      expect(await a.exited).toBe('SIGKILL');
      const handled = await metric(b, 'ratchet_process_events_handled_total');
      await waitFor(async () => (await metric(b, 'ratchet_process_events_handled_total')) > handled + 50, {
        what: 'the survivor handling more events',
        timeoutMs: 60_000,
      });
    } finally {
      await load.stop();
    }
    // The survivor alone catches up (the killed runner's unacked events come back to it).
    await env.caughtUp();
    const result = await env.check();
    expect(result.violations).toEqual([]);
    expect(await unloggedCommits(env.pool)).toBe(0);
    console.log(`handover: C12 checked ${result.checked}, 0 violations; commands ${JSON.stringify(await commandCounts(env.pool))}`);
    // `ratchet status` shows the dispatch caught up, with what its log holds.
    const counts = await commandCounts(env.pool);
    const cli = { NATS_URL: env.nats.url, DATABASE_URL: env.db.url };
    const json = await runRatchet(['status', '--json'], cli);
    expect(json.code, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as {
      processes: Array<{ name: string; lagEvents: number; parked: number; commands: typeof counts }>;
    };
    expect(status.processes).toEqual([expect.objectContaining({ name: 'technician-dispatch', lagEvents: 0, parked: 0, commands: counts })]);
    const human = await runRatchet(['status'], cli);
    expect(human.stdout).toMatch(new RegExp(`\\n  technician-dispatch +\\d+ +0 +${counts.ok} +${counts.rejected} +0 +0\\n`));
  }, 180_000);
});
