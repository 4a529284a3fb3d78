// C12 against a store and process tables written by a real process batch (commands committed
// straight to the store, no worker), then broken by hand: a clean run passes; a command the log
// lacks, a logged command the store lacks, a command doubled, a lost state update, an event not
// handled, a parked event and a journaled answer left behind are each caught.
import { defineAggregate, reject, type AnyAggregate } from '@ratchet/core';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { command, defineProcess, eventsOf } from '@ratchet/process';
import { migrateProcessSchema, registerProcess, runProcessBatch, type CommandSender } from '@ratchet/process/runner';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { checkProcesses } from './check-processes.js';

const Bell = defineAggregate({
  type: 'bell',
  machine: setup({
    types: { context: {} as { rings: number }, events: {} as { type: 'rang'; data: { by: string } } | { type: 'silenced'; data: object } },
  }).createMachine({
    id: 'bell',
    initial: 'still',
    context: { rings: 0 },
    states: {
      still: { on: { rang: { target: 'ringing', actions: assign({ rings: ({ context }) => context.rings + 1 }) } } },
      ringing: { on: { silenced: 'still' } },
    },
  }),
  commands: { ring: z.object({ by: z.string() }).strict(), silence: z.object({}).strict() },
  events: { rang: z.object({ by: z.string() }).strict(), silenced: z.object({}).strict() },
  decide: {
    ring: (p, s) => (s.matches('still') ? [{ type: 'rang', data: { by: p.by } }] : reject('already ringing')),
    silence: (_p, s) => (s.matches('ringing') ? [{ type: 'silenced', data: {} }] : reject('still')),
  },
});

/** A turnstile `<scenario>-<site>-<n>`'s bell: `<scenario>-<site>`. */
const siteOf = (turnstileId: string): string => turnstileId.split('-').slice(0, -1).join('-');

/** Three ineffective pushes in a row ring the site's bell (`<site>-<n>` turnstiles share a bell). */
const watch = (name: string) =>
  defineProcess({
    name,
    subscribe: [eventsOf(Turnstile, 'armPushedIneffectively', 'armTurned', 'coinInserted')],
    initialState: { inARow: 0, refused: 0 },
    handle: (e, s) =>
      e.type !== 'armPushedIneffectively'
        ? { state: { ...s, inARow: 0 } }
        : s.inARow < 2
          ? { state: { ...s, inARow: s.inARow + 1 } }
          : {
              state: { ...s, inARow: 0 },
              commands: [command(Bell, siteOf(e.aggregateId), { type: 'ring', payload: { by: e.aggregateId } }, 'ring')],
            },
    onRejected: (_r, s) => ({ state: { ...s, refused: s.refused + 1 } }),
  });

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** Commands decided and appended straight to the store, as a worker would (same id: the first answer). */
function directSender(store: PostgresEventStore, aggregates: readonly AnyAggregate[]): CommandSender {
  // One command at a time per target, as its actor's mailbox would.
  const queues = new Map<string, Promise<unknown>>();
  return (commandId, c, trigger) => {
    const streamId = `${c.aggregateType}/${c.aggregateId}`;
    const run = (queues.get(streamId) ?? Promise.resolve()).then(() => decideAndAppend(store, aggregates, commandId, c, trigger));
    queues.set(
      streamId,
      run.catch(() => undefined),
    );
    return run;
  };
}

async function decideAndAppend(
  store: PostgresEventStore,
  aggregates: readonly AnyAggregate[],
  commandId: string,
  c: Parameters<CommandSender>[1],
  trigger: Parameters<CommandSender>[2],
): ReturnType<CommandSender> {
  const aggregate = aggregates.find((a) => a.type === c.aggregateType)!;
  const streamId = `${c.aggregateType}/${c.aggregateId}`;
  const first = await store.findCommand(commandId);
  if (first !== null) return { outcome: 'ok', version: first.result.version };
  const state = aggregate.replay(await store.readStream(streamId));
  const d = aggregate.decide({ type: c.command.type, payload: c.command.payload ?? {} }, state);
  if (d.status === 'rejected') return { outcome: 'rejected', reason: d.reason, version: state.version };
  const r = await store.append(
    streamId,
    state.version,
    d.events.map((e) => ({ type: e.type, data: e.data })),
    {
      commandId,
      metadata: { causationId: `${trigger.streamId}@${trigger.version}` },
    },
  );
  return { outcome: 'ok', version: r.version };
}

/**
 * A process run over some turnstiles' histories in a database of its own (a process handles every
 * stream of its types); returns how to run it, check it and break it.
 */
async function scenario(name: string, histories: Record<string, readonly string[]>) {
  const db: TestDatabase = await createTestDatabase(`c12-${name}`);
  cleanups.push(() => db.drop());
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined);
  cleanups.push(() => pool.end());
  const store = createPostgresEventStore({ pool });
  await store.migrate();
  await migrateProcessSchema(pool);
  const p = watch(name);
  await registerProcess(pool, name, p.aggregateTypes);
  for (const [id, commands] of Object.entries(histories)) {
    let state = Turnstile.initialState();
    for (const type of ['install', ...commands]) {
      const d = Turnstile.decide({ type, payload: {} } as never, state);
      if (d.status === 'rejected') throw new Error(d.reason);
      await store.append(
        `turnstile/${name}-${id}`,
        state.version,
        d.events.map((e) => ({ type: e.type, data: e.data })),
      );
      state = d.state;
    }
  }
  const events = (await Promise.all(Object.keys(histories).map((id) => store.readStream(`turnstile/${name}-${id}`)))).flat();
  const ctx = {
    process: p,
    pool,
    readGap: (s: string, from: number, to: number) => store.readStream(s, { fromVersion: from, toVersion: to }),
    send: directSender(store, [Turnstile, Bell]),
    maxRounds: 8,
    signal: new AbortController().signal,
  };
  const check = () => checkProcesses({ databaseUrl: db.url, processes: [p] });
  return { p, ctx, events, check, pool, store, run: () => runProcessBatch(ctx, events) };
}

const three = ['pushArm', 'pushArm', 'pushArm'];

describe('C12', () => {
  it('passes a process run to the end, rejections and all', async () => {
    const s = await scenario('clean', {
      'a-1': [...three, 'insertCoin', 'pushArm', ...three],
      'a-2': three,
      'b-1': ['insertCoin', 'pushArm', ...three],
    });
    const report = await s.run();
    // a-1 rings a's bell, a-2 is refused (still ringing), a-1's second ring is refused too, b-1 rings b's.
    expect(report.commands.map((c) => c.answer.outcome).sort()).toEqual(['ok', 'ok', 'rejected', 'rejected']);
    const result = await s.check();
    expect(result.violations).toEqual([]);
    expect(result.checked).toBeGreaterThan(15);
  });

  it('catches a command the store committed that the log does not have (a run never checkpointed)', async () => {
    const s = await scenario('orphan', { 'a-1': three });
    await s.run();
    await s.store.append('bell/orphan-x', 0, [{ type: 'rang', data: { by: 'nobody' } }], {
      commandId: 'proc:orphan:turnstile:orphan-a-1:2:ring',
    });
    const { violations } = await s.check();
    expect(violations.map((v) => v.detail)).toEqual([
      "proc:orphan:turnstile:orphan-a-1:2:ring is committed in bell/orphan-x@1 but orphan's command log does not have it: sent by a run that was never checkpointed",
    ]);
  });

  it('catches a logged ok the store lacks, and a command the replay sends that the log lost', async () => {
    const s = await scenario('lost', { 'a-1': three });
    await s.run();
    await s.pool.query(`UPDATE ratchet_processes.commands SET command_id = 'proc:lost:elsewhere' WHERE process = 'lost'`);
    const details = (await s.check()).violations.map((v) => v.detail);
    expect(details).toContainEqual(
      expect.stringMatching(/^proc:lost:turnstile:lost-a-1:4:ring is committed in bell\/lost-a@1 but lost's command log does not have it/),
    );
    expect(details).toContainEqual(
      expect.stringMatching(/^proc:lost:elsewhere: lost's log has it answered ok at bell\/lost-a@1, but the store has no such command/),
    );
    expect(details).toContainEqual(
      expect.stringMatching(
        /^turnstile\/lost-a-1: event 4 \(armPushedIneffectively\) sends proc:lost:turnstile:lost-a-1:4:ring, which lost's log does not have: a command lost/,
      ),
    );
  });

  it('catches a command doubled and a state update lost', async () => {
    const s = await scenario('dup', { 'a-1': [...three, 'pushArm'] });
    await s.run();
    await s.pool.query(
      `INSERT INTO ratchet_processes.commands (process, command_id, trigger_stream, trigger_version, instance, step, round, target_stream, command, outcome, reason)
       VALUES ('dup', 'proc:dup:turnstile:dup-a-1:3:ring', 'turnstile/dup-a-1', 3, 'turnstile/dup-a-1', 'ring', 1, 'bell/dup-a', '{"type":"ring","payload":{"by":"dup-a-1"}}', 'rejected', 'already ringing')`,
    );
    expect((await s.check()).violations.map((v) => v.detail)).toEqual([
      "turnstile/dup-a-1: dup's log has proc:dup:turnstile:dup-a-1:3:ring, which a replay of the stream does not send: a command doubled",
    ]);
    await s.pool.query(`DELETE FROM ratchet_processes.commands WHERE command_id = 'proc:dup:turnstile:dup-a-1:3:ring'`);
    expect((await s.check()).violations).toEqual([]);
    await s.pool.query(`UPDATE ratchet_processes.instances SET state = '{"inARow": 2, "refused": 0}' WHERE process = 'dup'`);
    expect((await s.check()).violations.map((v) => v.detail)).toEqual([
      'turnstile/dup-a-1: dup\'s stored state {"inARow":2,"refused":0} is not the replay\'s {"inARow":1,"refused":0}: an update lost',
    ]);
  });

  it('catches an event not handled, a parked event and a journaled answer left after its checkpoint', async () => {
    const s = await scenario('late', { 'a-1': three, 'a-2': three });
    await runProcessBatch(
      s.ctx,
      s.events.filter((e) => e.streamId.endsWith('a-1')),
    );
    await s.pool.query(
      `INSERT INTO ratchet_processes.answers (process, command_id, trigger_stream, trigger_version, outcome, reason) VALUES ('late', 'proc:late:x', 'turnstile/late-a-1', 2, 'rejected', 'no')`,
    );
    await s.pool.query(
      `INSERT INTO ratchet_processes.parked (process, stream_id, event_version, type, reason, error, attempts) VALUES ('late', 'turnstile/late-a-2', 4, 'armPushedIneffectively', 'unanswered', 'no definite answer', 1)`,
    );
    expect((await s.check()).violations.map((v) => v.detail)).toEqual([
      'turnstile/late-a-2@4 is parked by late (unanswered: no definite answer): its commands are not all answered',
      'proc:late:x: a journaled answer is left for turnstile/late-a-1@2, which is checkpointed',
    ]);
    await s.pool.query(`DELETE FROM ratchet_processes.parked WHERE process = 'late'`);
    expect((await s.check()).violations.map((v) => v.detail)).toContain('turnstile/late-a-2: late handled it to version 0 of 4');
  });
});
