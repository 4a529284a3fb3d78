/**
 * Process-manager throughput beside the projector's, in the same run over the same history in
 * JetStream: events in → commands answered per second for a process that sends one command per
 * event (each accepted by a worker in this process), for the turnstile app's technician dispatch
 * (few commands: a call per three ineffective pushes in a row), and the turnstile projection's
 * events per second. Printed, never asserted.
 * Run: node --conditions=source --import tsx bench/process.bench.ts [--events N] [--repeats N]
 * Uses DATABASE_URL for a scratch database and always a private nats-server: it deletes and refills
 * the events stream, which must never happen to a NATS other processes share.
 */
import { pathToFileURL } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectClient } from '@ratchet/client';
import { defineAggregate } from '@ratchet/core';
import { createPostgresEventStore, FEED_START, type AppendRequest } from '@ratchet/event-store-postgres';
import { startNatsServer } from '@ratchet/launchers';
import { command, defineProcess, eventsOf, type AnyProcess } from '@ratchet/process';
import { createProcessRunner } from '@ratchet/process/runner';
import { createProjector, migrateProjectionSchema, republish } from '@ratchet/projector';
import { Station } from '@ratchet/station';
import { EVENTS_STREAM, ensureEventsStream } from '@ratchet/transport-nats';
import { Turnstile } from '@ratchet/turnstile';
import { technicianDispatch } from '@ratchet/turnstile-app';
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import { createWorker } from '@ratchet/worker';
import pg from 'pg';
import { pino } from 'pino';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { createScratchDatabase } from './scratch-database.js';
import { figure, median, type Figure } from './stats.js';

/** A ledger per turnstile that takes every entry: the echo process's target. */
const Ledger = defineAggregate({
  type: 'ledger',
  machine: setup({ types: { context: {} as { entries: number }, events: {} as { type: 'entered'; data: { of: string } } } }).createMachine({
    id: 'ledger',
    context: { entries: 0 },
    on: { entered: { actions: assign({ entries: ({ context }) => context.entries + 1 }) } },
  }),
  commands: { enter: z.object({ of: z.string() }).strict() },
  events: { entered: z.object({ of: z.string() }).strict() },
  decide: { enter: ({ of }) => [{ type: 'entered', data: { of } }] },
});

/** One command per turnstile event, to that turnstile's ledger. */
const echo = defineProcess({
  name: 'bench-echo',
  subscribe: [eventsOf(Turnstile, 'installed', 'coinInserted', 'armTurned', 'armPushedIneffectively')],
  initialState: null,
  handle: (e) => ({ commands: [command(Ledger, e.aggregateId, { type: 'enter', payload: { of: e.type } }, 'enter')] }),
});

/** Options of {@link runProcessBench}. */
export interface ProcessBenchOptions {
  /** Turnstile events in the history. Default 10,000. */
  readonly events?: number;
  /** Turnstiles they spread over. Default 200. */
  readonly turnstiles?: number;
  /** Runs per figure; the median is reported. Default 3. */
  readonly repeats?: number;
  readonly log?: (line: string) => void;
}

/** Measure; resolves the figures. */
export async function runProcessBench(options: ProcessBenchOptions = {}): Promise<Figure[]> {
  const total = options.events ?? 10_000;
  const turnstiles = options.turnstiles ?? 200;
  const repeats = options.repeats ?? 3;
  const log = options.log ?? (() => undefined);
  const db = await createScratchDatabase('process');
  const natsServer = await startNatsServer();
  const natsUrl = natsServer.url;
  const nc = await connect({ servers: natsUrl });
  const store = createPostgresEventStore({ connectionString: db.url });
  const pool = new pg.Pool({ connectionString: db.url, max: 12 });
  pool.on('error', () => undefined);
  const worker = createWorker({
    nats: nc,
    store,
    aggregates: [Turnstile, Ledger, Station],
    relay: false,
    logger: pino({ level: 'silent' }),
  });
  const client = await connectClient({ servers: natsUrl, timeoutMs: 10_000 });
  try {
    await store.migrate();
    await worker.start();
    // The same history for every run: turnstiles installed, then coins and pushes, decided by the aggregate.
    const states = Array.from({ length: turnstiles }, () => Turnstile.initialState());
    const commands = ['insertCoin', 'pushArm', 'pushArm', 'pushArm'] as const;
    let appended = 0;
    for (let round = 0; appended < total; round += 1) {
      const requests: AppendRequest[] = [];
      for (let i = 0; i < turnstiles && appended + requests.length < total; i += 1) {
        const state = states[i]!;
        const type = state.version === 0 ? 'install' : commands[(round * 7 + i) % commands.length]!;
        const d = Turnstile.decide({ type, payload: {} } as never, state);
        if (d.status === 'rejected') continue;
        requests.push({
          streamId: `turnstile/bt-${i}`,
          expectedVersion: state.version,
          events: d.events.map((e) => ({ type: e.type, data: e.data })),
        });
        states[i] = d.state;
      }
      await store.appendBatch(requests);
      appended += requests.length;
    }
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(EVENTS_STREAM).catch(() => undefined);
    await ensureEventsStream(jsm);
    await republish(store, jetstream(nc), FEED_START, { batchSize: 1_000 });
    log(`history: ${total} turnstile events over ${turnstiles} turnstiles, in Postgres and JetStream`);

    const sum = async (sql: string, params: unknown[] = []): Promise<number> =>
      Number((await pool.query<{ n: string | null }>(sql, params)).rows[0]?.n ?? 0);
    // Every run starts from nothing: no positions, no consumer, and the targets' streams gone.
    const fresh = async (): Promise<void> => {
      await pool.query('DROP SCHEMA IF EXISTS ratchet_projections CASCADE');
      await pool.query('DROP SCHEMA IF EXISTS ratchet_processes CASCADE');
      await pool.query(`DELETE FROM ratchet.processed_commands WHERE command_id LIKE 'proc:%'`);
      for (const c of ['proj_turnstile_v1', 'proc_bench-echo', 'proc_technician-dispatch'])
        await jsm.consumers.delete(EVENTS_STREAM, c).catch(() => undefined);
    };
    const project = async (): Promise<number> => {
      await fresh();
      const projector = createProjector({ nats: nc, store, pool, projections: [defineTurnstileProjection()] });
      // Built already: it follows JetStream from the stream's first message, as a process does.
      await migrateProjectionSchema(pool);
      await pool.query(
        `INSERT INTO ratchet_projections.versions (name, version, status, tables)
         VALUES ('turnstile', 1, 'following', ARRAY['turnstiles','turnstile_totals','turnstile_commands_per_second'])`,
      );
      const start = performance.now();
      await projector.start();
      while ((await sum(`SELECT sum(last_version) AS n FROM ratchet_projections.positions`)) < total) await delay(5);
      const seconds = (performance.now() - start) / 1000;
      await projector.stop();
      return total / seconds;
    };
    const runProcess = async (p: AnyProcess): Promise<{ events: number; commands: number; answered: number }> => {
      await fresh();
      const runner = createProcessRunner({ nats: nc, client, store, pool, processes: [p], batchSize: 200 });
      const start = performance.now();
      await runner.start();
      while ((await sum(`SELECT sum(last_version) AS n FROM ratchet_processes.positions WHERE process = $1`, [p.name])) < total)
        await delay(5);
      const seconds = (performance.now() - start) / 1000;
      await runner.stop();
      const answered = await sum(`SELECT count(*) AS n FROM ratchet_processes.commands WHERE process = $1`, [p.name]);
      return { events: total / seconds, commands: answered / seconds, answered };
    };

    const runs = {
      projector: [] as number[],
      echoEvents: [] as number[],
      echoCommands: [] as number[],
      dispatchEvents: [] as number[],
      dispatchCommands: [] as number[],
    };
    let dispatchAnswered = 0;
    for (let r = 0; r < repeats; r += 1) {
      runs.projector.push(await project());
      const e = await runProcess(echo);
      runs.echoEvents.push(e.events);
      runs.echoCommands.push(e.commands);
      const d = await runProcess(technicianDispatch);
      runs.dispatchEvents.push(d.events);
      runs.dispatchCommands.push(d.commands);
      dispatchAnswered = d.answered;
      log(
        `run ${r + 1}: projector ${Math.round(runs.projector.at(-1)!)} events/s; one command per event ${Math.round(e.events)} events/s (${Math.round(e.commands)} commands answered/s, ${e.answered} commands); technician dispatch ${Math.round(d.events)} events/s (${d.answered} calls)`,
      );
    }
    const base = median(runs.projector);
    const baseName = 'projector from JetStream (turnstile v1), same history';
    const vs = (name: string, value: number): Figure => figure(name, value, 'events/s', baseName, value / base);
    return [
      figure(baseName, base, 'events/s'),
      vs('process, one command per event: events in', median(runs.echoEvents)),
      figure('process, one command per event: commands answered', median(runs.echoCommands), 'cmd/s'),
      vs(`technician dispatch (${dispatchAnswered} calls): events in`, median(runs.dispatchEvents)),
    ];
  } finally {
    await client.close().catch(() => undefined);
    await worker.drain(5_000).catch(() => undefined);
    await pool.end();
    await store.close();
    await nc.close();
    await natsServer.stop();
    await db.drop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const figures = await runProcessBench({
    events: arg('events'),
    repeats: arg('repeats'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  for (const f of figures) process.stdout.write(`${JSON.stringify(f)}\n`);
}
