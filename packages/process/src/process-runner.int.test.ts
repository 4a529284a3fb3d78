import type { RecordedEvent } from '@ratchet/core';
import { Turnstile } from '@ratchet/turnstile';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarm, definePushWatch, pushWatch, siteOf } from '../test/fixtures/alarm.js';
import { startProcessEnv, type ProcessEnv } from '../test/process-env.js';
import { createCommandSender, type CommandSender } from './command-sender.js';
import { runProcessBatch, type BatchContext } from './process-batch.js';
import { createProcessRunner } from './process-runner.js';
import { migrateProcessSchema, registerProcess } from './process-schema.js';
import { readParkedTriggers, readProcessStates } from './read-process-states.js';
import { defineProcess } from './define-process.js';
import { eventsOf } from './subscription.js';
import { command } from './process-command.js';

let env: ProcessEnv;

beforeAll(async () => {
  env = await startProcessEnv('process');
  await migrateProcessSchema(env.pool);
});
afterAll(async () => {
  await env?.close();
});

async function push(id: string, ...commands: Array<'install' | 'insertCoin' | 'pushArm'>): Promise<void> {
  for (const type of commands) {
    const r = await env.client.send(Turnstile, id, { type, payload: {} });
    expect(r.status, `${type} on ${id}`).toBe('ok');
  }
}

async function alarmEvents(site: string) {
  const events = await env.store.readStream(`alarm/${site}`);
  return events.map((e) => ({
    version: e.version,
    type: e.type,
    data: e.data,
    commandId: e.metadata.commandId,
    causationId: e.metadata.causationId,
    process: e.metadata.process,
    step: e.metadata.processStep,
  }));
}

async function stateOf(process: string, instance: string): Promise<unknown> {
  const r = await env.pool.query<{ state: unknown }>(`SELECT state FROM ratchet_processes.instances WHERE process = $1 AND instance = $2`, [
    process,
    instance,
  ]);
  return r.rows[0]?.state;
}

describe('process runner over JetStream', () => {
  it('raises the alarm at the third ineffective push in a row, once, with an id and metadata derived from the push', async () => {
    const runner = createProcessRunner({
      nats: env.nc,
      client: env.client,
      store: env.store,
      pool: env.pool,
      processes: [pushWatch],
      logger: pino({ level: 'silent' }),
    });
    await runner.start();
    try {
      await push('north-1', 'install', 'pushArm', 'pushArm', 'insertCoin', 'pushArm', 'pushArm', 'pushArm', 'pushArm');
      // v1 installed, v2-3 two pushes, v4 coin (reset), v5 armTurned (reset), v6-8 three pushes: the alarm at v8.
      await env.caughtUp('push-watch');
      expect(await alarmEvents('north')).toEqual([
        {
          version: 1,
          type: 'raised',
          data: { turnstileId: 'north-1' },
          commandId: 'proc:push-watch:turnstile:north-1:8:raise',
          causationId: 'turnstile/north-1@8',
          process: 'push-watch',
          step: 'raise',
        },
      ]);
      expect(await stateOf('push-watch', 'turnstile/north-1')).toEqual({ pushes: 0, raised: 1, refused: 0 });

      // Another turnstile of the site: the alarm still rings, so the raise is rejected and reported.
      await push('north-2', 'install', 'pushArm', 'pushArm', 'pushArm');
      await env.caughtUp('push-watch');
      expect(await alarmEvents('north')).toHaveLength(1);
      expect(await stateOf('push-watch', 'turnstile/north-2')).toEqual({ pushes: 0, raised: 1, refused: 1 });
      const log = await env.pool.query(
        `SELECT command_id, trigger_stream, trigger_version, outcome, reason, target_stream, command FROM ratchet_processes.commands ORDER BY trigger_stream`,
      );
      expect(log.rows).toEqual([
        {
          command_id: 'proc:push-watch:turnstile:north-1:8:raise',
          trigger_stream: 'turnstile/north-1',
          trigger_version: 8,
          outcome: 'ok',
          reason: null,
          target_stream: 'alarm/north',
          command: { type: 'raise', payload: { turnstileId: 'north-1' } },
        },
        {
          command_id: 'proc:push-watch:turnstile:north-2:4:raise',
          trigger_stream: 'turnstile/north-2',
          trigger_version: 4,
          outcome: 'rejected',
          reason: 'alarm already ringing',
          target_stream: 'alarm/north',
          command: { type: 'raise', payload: { turnstileId: 'north-2' } },
        },
      ]);
      // Answered and checkpointed: nothing left in the journal.
      expect((await env.pool.query(`SELECT * FROM ratchet_processes.answers`)).rows).toEqual([]);
      const [state] = await readProcessStates(env.pool);
      expect(state).toMatchObject({
        name: 'push-watch',
        aggregateTypes: ['turnstile'],
        eventsHandled: 10,
        commands: { ok: 1, rejected: 1, failed: 0 },
        lagEvents: 0,
        parked: 0,
      });
      expect(runner.status()).toEqual([{ process: 'push-watch', phase: 'following', lagEvents: expect.any(Number) }]);
    } finally {
      await runner.stop();
    }
  });
});

describe('one batch, again and again (redelivery, re-runs)', () => {
  const watch = definePushWatch('push-watch-b');
  let events: RecordedEvent[];

  beforeAll(async () => {
    await registerProcess(env.pool, 'push-watch-b', ['turnstile']);
    await env.client.send(Alarm, 'south', { type: 'raise', payload: { turnstileId: 'manual' } }); // ringing: the process's raise is rejected
    await push('south-1', 'install', 'pushArm', 'pushArm', 'pushArm');
    events = await env.store.readStream('turnstile/south-1');
  });

  function context(send: CommandSender): BatchContext {
    return {
      process: watch,
      pool: env.pool,
      readGap: (s, from, to) => env.store.readStream(s, { fromVersion: from, toVersion: to }),
      send,
      maxRounds: 8,
      signal: new AbortController().signal,
    };
  }

  it('journals a rejection at once, so a batch that fails after it gets the same answer without sending again', async () => {
    const real = createCommandSender(env.client, watch.name);
    let sends = 0;
    const counting: CommandSender = (...args) => {
      sends += 1;
      return real(...args);
    };
    const ctx = context(counting);
    // The first run fails after its command was answered, at the commit (as a crash or a lost connection would).
    const failAtCommit: BatchContext = { ...ctx, pool: failingCommitPool(env) };
    await expect(runProcessBatch(failAtCommit, events)).rejects.toThrow('commit refused');
    expect(sends).toBe(1);
    expect((await env.pool.query(`SELECT outcome, reason FROM ratchet_processes.answers WHERE process = 'push-watch-b'`)).rows).toEqual([
      { outcome: 'rejected', reason: 'alarm already ringing' },
    ]);
    // The alarm is cleared meanwhile: a resend would now be accepted. The re-run must not resend.
    await env.client.send(Alarm, 'south', { type: 'clear', payload: {} });
    const report = await runProcessBatch(ctx, events);
    expect(sends).toBe(1);
    expect(report.sent).toBe(0);
    expect(report.commands.map((c) => c.answer)).toEqual([{ outcome: 'rejected', reason: 'alarm already ringing', version: 1 }]);
    expect(await stateOf('push-watch-b', 'turnstile/south-1')).toEqual({ pushes: 0, raised: 1, refused: 1 });
    expect((await alarmEvents('south')).map((e) => e.type)).toEqual(['raised', 'cleared']);
    expect((await env.pool.query(`SELECT * FROM ratchet_processes.answers WHERE process = 'push-watch-b'`)).rows).toEqual([]);
  });

  it('drops a redelivered batch (the ack was lost): nothing sent, nothing moved', async () => {
    let sends = 0;
    const report = await runProcessBatch(
      context(async () => {
        sends += 1;
        return { outcome: 'ok', version: 1 };
      }),
      events,
    );
    expect(report).toMatchObject({ handled: 0, duplicates: events.length, sent: 0, commands: [] });
    expect(sends).toBe(0);
  });

  it('fills a gap from the store when only a later event arrives', async () => {
    await push('south-2', 'install', 'pushArm', 'pushArm', 'pushArm');
    const all = await env.store.readStream('turnstile/south-2');
    const report = await runProcessBatch(context(createCommandSender(env.client, watch.name)), all.slice(3));
    expect(report).toMatchObject({ handled: 3, gapFilled: 3, duplicates: 0 });
    expect(report.commands.map((c) => [c.commandId, c.answer.outcome])).toEqual([['proc:push-watch-b:turnstile:south-2:4:raise', 'ok']]);
  });

  it('parks an event whose commands stay unanswered, holds its stream, and releases it on retry', async () => {
    await push('south-3', 'install', 'pushArm', 'pushArm', 'pushArm', 'insertCoin');
    const all = await env.store.readStream('turnstile/south-3');
    const silent: CommandSender = async () => ({ outcome: 'unanswered', reason: 'no definite answer after 1 sends' });
    const parked = await runProcessBatch(context(silent), all);
    expect(parked.parked).toEqual([
      {
        streamId: 'turnstile/south-3',
        version: 4,
        type: 'armPushedIneffectively',
        reason: 'unanswered',
        error: 'no definite answer after 1 sends',
      },
    ]);
    expect(parked).toMatchObject({ handled: 2, waiting: 1 });
    expect((await readParkedTriggers(env.pool, 'push-watch-b')).map((p) => [p.streamId, p.version, p.reason])).toEqual([
      ['turnstile/south-3', 4, 'unanswered'],
    ]);
    // Later events of the stream wait behind it.
    expect(await runProcessBatch(context(silent), all.slice(4))).toMatchObject({ handled: 0, waiting: 1 });
    const retried = await runProcessBatch(context(createCommandSender(env.client, watch.name)), all.slice(3), {
      retry: ['turnstile/south-3'],
    });
    expect(retried).toMatchObject({ handled: 2, waiting: 0, parked: [] });
    expect(await readParkedTriggers(env.pool, 'push-watch-b')).toEqual([]);
  });
});

describe('feed mode (no NATS consumer: one runner, as in the embedded demo)', () => {
  it('follows the store feed, answers every command and checkpoints the feed with the batch', async () => {
    const watch = definePushWatch('push-watch-feed');
    const runner = createProcessRunner({ source: 'feed', client: env.client, store: env.store, pool: env.pool, processes: [watch] });
    await runner.start();
    try {
      await push('east-1', 'install', 'pushArm', 'pushArm', 'pushArm');
      await env.caughtUp('push-watch-feed');
      expect((await alarmEvents('east')).map((e) => [e.type, e.commandId])).toEqual([
        ['raised', 'proc:push-watch-feed:turnstile:east-1:4:raise'],
      ]);
      const feed = await env.pool.query<{ p: string }>(
        `SELECT feed_global_position AS p FROM ratchet_processes.processes WHERE name = 'push-watch-feed'`,
      );
      expect(Number(feed.rows[0]!.p)).toBeGreaterThan(0);
    } finally {
      await runner.stop();
    }
  });
});

describe('a custom correlation', () => {
  it('keys instances by what correlate returns and runs each instance in order', async () => {
    const bySite = defineProcess({
      name: 'by-site',
      subscribe: [eventsOf(Turnstile, 'armPushedIneffectively')],
      correlate: (e) => siteOf(e.aggregateId),
      initialState: { pushes: 0 },
      handle: (e, state) =>
        state.pushes + 1 < 5
          ? { state: { pushes: state.pushes + 1 } }
          : {
              state: { pushes: 0 },
              commands: [
                command(Alarm, `site-${siteOf(e.aggregateId)}`, { type: 'raise', payload: { turnstileId: e.aggregateId } }, 'raise'),
              ],
            },
    });
    const runner = createProcessRunner({ nats: env.nc, client: env.client, store: env.store, pool: env.pool, processes: [bySite] });
    await runner.start();
    try {
      // Six ineffective pushes at the site, from two turnstiles at once: one alarm at the fifth.
      await Promise.all([
        push('west-1', 'install', 'pushArm', 'pushArm', 'pushArm'),
        push('west-2', 'install', 'pushArm', 'pushArm', 'pushArm'),
      ]);
      await env.caughtUp('by-site');
      expect(await stateOf('by-site', 'west')).toEqual({ pushes: 1 });
      expect((await alarmEvents('site-west')).map((e) => e.type)).toEqual(['raised']);
    } finally {
      await runner.stop();
    }
  });
});

/** A pool whose clients refuse COMMIT: a batch that did everything but could not checkpoint. */
function failingCommitPool(e: ProcessEnv): typeof e.pool {
  return new Proxy(e.pool, {
    get(target, prop) {
      if (prop === 'connect') {
        return async () => {
          const client = await target.connect();
          return new Proxy(client, {
            get(c, p) {
              if (p === 'query') {
                return (q: unknown, ...rest: unknown[]) => {
                  if (q === 'COMMIT') return Promise.reject(new Error('commit refused'));
                  return (c.query as (...a: unknown[]) => unknown).call(c, q, ...rest);
                };
              }
              const v: unknown = Reflect.get(c, p);
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(c) : v;
            },
          });
        };
      }
      const v: unknown = Reflect.get(target, prop);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
