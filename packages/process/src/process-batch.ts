import { requireEntry, requireItem, type RecordedEvent } from '@ratchet/core';
import { crashPoint } from '@ratchet/ops';
import { readMissing } from '@ratchet/projector';
import { canonicalJson } from '@ratchet/transport-nats';
import type pg from 'pg';
import { journalAnswer, lockInstances, lockStreams, readJournal } from './batch-locks.js';
import type { CommandSender } from './command-sender.js';
import { ProcessCrashPoint } from './crash-point.js';
import type { AnyProcess } from './define-process.js';
import { toProcessEvent } from './process-event.js';
import { runTrigger, type Dispatch } from './run-trigger.js';
import { saveBatch, type CommandRow, type InstanceWrite, type ParkedWrite, type PositionWrite } from './save-batch.js';

/** Reads events `from`..`to` (inclusive) of a stream from the event store. */
export type GapReader = (streamId: string, fromVersion: number, toVersion: number) => Promise<readonly RecordedEvent[]>;

/** What a batch needs besides its events. */
export interface BatchContext {
  readonly process: AnyProcess;
  /** Pool on the database of the process tables (by default the event store's). */
  readonly pool: pg.Pool;
  readonly readGap: GapReader;
  readonly send: CommandSender;
  /** Rounds of `onRejected` per event before it is parked. */
  readonly maxRounds: number;
  /** A hard stop (drain deadline passed): sends stop and the batch rolls back. */
  readonly signal: AbortSignal;
  /**
   * The caller guarantees no other runner runs this process (feed mode: one runner reads the feed):
   * no locks, and no transaction is held while commands are answered — only the writes are one
   * (their compare-and-set still refuses a lost update). For a single-connection database (PGlite).
   * Default false.
   */
  readonly exclusive?: boolean;
}

/** Extra work for one batch. */
export interface BatchOptions {
  /** Feed mode: the checkpoint after the page, committed with the batch. */
  readonly feed?: { readonly transactionId: string; readonly globalPosition: number };
  /** Parked streams to run again from their parked event (a retry): unparked in this transaction unless they park again. */
  readonly retry?: readonly string[];
}

/** What a batch did. */
export interface BatchReport {
  /** Subscribed events handled. */
  handled: number;
  /** At or below their stream's position: handled before. */
  duplicates: number;
  /** Behind a parked event of their stream. */
  waiting: number;
  /** Read from the store to fill a gap in a stream. */
  gapFilled: number;
  /** Commands actually sent (the rest of `commands` were answered from the journal). */
  sent: number;
  commands: CommandRow[];
  parked: ParkedWrite[];
  lastRecordedAt: Date | null;
}

const typeOf = (streamId: string): string => streamId.slice(0, streamId.indexOf('/'));

/**
 * Order the batch's events: by global position, then each stream's events put back in version
 * order into the slots that stream occupies, so the order is a linearisation of every stream.
 */
function linearise(events: readonly RecordedEvent[]): RecordedEvent[] {
  const sorted = [...events].sort(
    (a, b) => a.globalPosition - b.globalPosition || (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : a.version - b.version),
  );
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of sorted) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
  for (const list of byStream.values()) list.sort((a, b) => a.version - b.version);
  const next = new Map<string, number>();
  return sorted.map((e) => {
    const i = next.get(e.streamId) ?? 0;
    next.set(e.streamId, i + 1);
    return requireItem(requireEntry(byStream, e.streamId, 'events of stream'), i, 'event of the stream');
  });
}

/**
 * One batch of a process, in one Postgres transaction: lock the source streams (advisory, in hash
 * order) and read their positions; drop what is at or below them, fill gaps from the store; lock
 * the instances and read their states and the journal; run each event (`handle`, send, answers,
 * `onRejected`) — one instance's and one stream's events in order, different instances at once;
 * then move positions, states, the command log and the counters, and commit. Nothing moves until
 * every command of the batch has its answer; a crash anywhere before the commit runs the events
 * again with the old states, sending the same command ids.
 */
export async function runProcessBatch(
  ctx: BatchContext,
  events: readonly RecordedEvent[],
  options: BatchOptions = {},
): Promise<BatchReport> {
  const p = ctx.process;
  const report: BatchReport = {
    handled: 0,
    duplicates: 0,
    waiting: 0,
    gapFilled: 0,
    sent: 0,
    commands: [],
    parked: [],
    lastRecordedAt: null,
  };
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of events)
    if (p.aggregateTypes.includes(typeOf(e.streamId))) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
  const streams = [...byStream.keys()].sort();
  if (streams.length === 0 && options.feed === undefined) return report;

  const exclusive = ctx.exclusive === true;
  // Locked mode: one transaction from the locks to the commit. Exclusive mode: reads on the pool,
  // a client only for the writes' transaction.
  let client = exclusive ? undefined : await ctx.pool.connect();
  // A lost connection drops the locks: stop sending at once (the commit will fail anyway).
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  // (pg clients are event emitters; a single-connection pool's stand-in may not be.)
  const watch = (c: pg.PoolClient | undefined, on: boolean): void => {
    const emitter = c as unknown as { on?: (e: string, f: () => void) => void; off?: (e: string, f: () => void) => void } | undefined;
    if (on) emitter?.on?.('error', abort);
    else emitter?.off?.('error', abort);
  };
  watch(client, true);
  ctx.signal.addEventListener('abort', abort);
  let broken = false;
  let open = false;
  try {
    const reader = client ?? ctx.pool;
    if (client !== undefined) {
      await client.query('BEGIN');
      open = true;
    }
    const positions = await lockStreams(reader, p.name, streams, !exclusive);
    const retried = new Set((options.retry ?? []).filter((s) => positions.get(s)?.parkedVersion != null));
    for (const s of retried) positions.set(s, { ...requireEntry(positions, s, 'position of stream'), parkedVersion: null });

    const queue: RecordedEvent[] = [];
    for (const s of streams) {
      const position = requireEntry(positions, s, 'position of stream');
      const list = requireEntry(byStream, s, 'events of stream').sort((a, b) => a.version - b.version);
      if (position.parkedVersion !== null) {
        report.waiting += list.length;
        continue;
      }
      let cursor = position.lastVersion;
      for (const e of list) {
        if (e.version <= cursor) {
          report.duplicates += 1;
          continue;
        }
        if (e.version > cursor + 1) {
          // Never seen (redelivery order, a purge, another runner's batch): the store has them.
          const missing = await readMissing(ctx.readGap, s, cursor + 1, e.version - 1);
          queue.push(...missing);
          report.gapFilled += missing.length;
        }
        queue.push(e);
        cursor = e.version;
      }
    }
    const ordered = linearise(queue);

    // Each handled event's instance; a correlate that throws parks the event.
    const keyOf = new Map<RecordedEvent, string | Error>();
    for (const e of ordered) {
      if (!p.handles(e.streamId, e.type)) continue;
      try {
        const key = p.correlate(toProcessEvent(e));
        keyOf.set(
          e,
          typeof key === 'string' && key !== '' ? key : new Error(`correlate returned ${JSON.stringify(key)}, not a non-empty string`),
        );
      } catch (error) {
        keyOf.set(e, error instanceof Error ? error : new Error(String(error)));
      }
    }
    const instanceKeys = [...new Set([...keyOf.values()].filter((k): k is string => typeof k === 'string'))];
    const loaded = await lockInstances(reader, p.name, instanceKeys, JSON.stringify(p.initialState), !exclusive);
    const journal = await readJournal(
      reader,
      p.name,
      ordered.filter((e) => typeof keyOf.get(e) === 'string'),
    );

    const states = new Map([...loaded].map(([k, v]) => [k, v.state]));
    const cursors = new Map(streams.map((s) => [s, requireEntry(positions, s, 'position of stream').lastVersion]));
    const parkedAt = new Map<string, ParkedWrite>();
    const handledTriggers: Array<{ streamId: string; version: number }> = [];
    const dispatch: Dispatch = async (commandId, c, trigger) => {
      const known = journal.get(commandId);
      if (known !== undefined) return known;
      crashPoint(ProcessCrashPoint.BEFORE_EMIT);
      report.sent += 1;
      const answer = await ctx.send(commandId, c, trigger, stop.signal);
      if (answer.outcome === 'rejected' || answer.outcome === 'failed') return journalAnswer(ctx.pool, p.name, commandId, trigger, answer);
      return answer;
    };
    const park = (e: RecordedEvent, reason: ParkedWrite['reason'], error: string): void => {
      parkedAt.set(e.streamId, { streamId: e.streamId, version: e.version, type: e.type, reason, error });
    };

    // One stream's events in version order, one instance's in batch order; the rest at once.
    const lastOfStream = new Map<string, Promise<void>>();
    const lastOfInstance = new Map<string, Promise<void>>();
    const runs: Array<Promise<void>> = [];
    for (const e of ordered) {
      const key = keyOf.get(e);
      const after = [lastOfStream.get(e.streamId), typeof key === 'string' ? lastOfInstance.get(key) : undefined];
      const run = Promise.all(after).then(async () => {
        if (parkedAt.has(e.streamId)) {
          report.waiting += 1;
          return;
        }
        if (key === undefined) {
          cursors.set(e.streamId, e.version); // an event type the process does not handle
          return;
        }
        if (key instanceof Error) return park(e, 'handler-failed', `correlate failed: ${key.message}`);
        const outcome = await runTrigger(p, toProcessEvent(e), requireEntry(states, key, 'state of instance'), dispatch, {
          maxRounds: ctx.maxRounds,
        });
        if (outcome.kind === 'parked') return park(e, outcome.reason, outcome.error);
        states.set(key, outcome.state);
        cursors.set(e.streamId, e.version);
        for (const c of outcome.commands)
          report.commands.push({ ...c, triggerStream: e.streamId, triggerVersion: e.version, instance: key });
        handledTriggers.push({ streamId: e.streamId, version: e.version });
        report.handled += 1;
        if (report.lastRecordedAt === null || e.recordedAt > report.lastRecordedAt) report.lastRecordedAt = e.recordedAt;
      });
      // One failure stops every send of the batch: it rolls back and runs again.
      run.catch(abort);
      lastOfStream.set(e.streamId, run);
      if (typeof key === 'string') lastOfInstance.set(key, run);
      runs.push(run);
    }
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (report.commands.length > 0) crashPoint(ProcessCrashPoint.AFTER_EMIT_BEFORE_CHECKPOINT);

    const positionWrites: PositionWrite[] = [];
    for (const s of streams) {
      const before = requireEntry(positions, s, 'position of stream');
      const parked = parkedAt.get(s);
      const last = requireEntry(cursors, s, 'cursor of stream');
      if (last === before.lastVersion && parked === undefined && !retried.has(s)) continue;
      positionWrites.push({
        streamId: s,
        existed: before.existed,
        oldVersion: before.lastVersion,
        lastVersion: last,
        parkedVersion: parked?.version ?? null,
      });
    }
    const instanceWrites: InstanceWrite[] = [];
    for (const [instance, state] of states) {
      const before = requireEntry(loaded, instance, 'loaded instance');
      if (before.existed && canonicalJson(JSON.parse(state)) === canonicalJson(JSON.parse(before.state))) continue;
      if (!before.existed && state === before.state) continue;
      instanceWrites.push({ instance, existed: before.existed, oldVersion: before.version, state });
    }
    report.parked = [...parkedAt.values()];
    if (client === undefined) {
      client = await ctx.pool.connect();
      watch(client, true);
      await client.query('BEGIN');
      open = true;
    }
    await saveBatch(client, p.name, {
      positions: positionWrites,
      instances: instanceWrites,
      commands: report.commands,
      parked: report.parked,
      released: [...retried].filter((s) => !parkedAt.has(s)),
      triggers: handledTriggers,
      handled: report.handled,
      lastRecordedAt: report.lastRecordedAt,
      ...(options.feed === undefined ? {} : { feed: options.feed }),
    });
    await client.query('COMMIT');
    open = false;
    return report;
  } catch (error) {
    if (open) {
      await client?.query('ROLLBACK').catch(() => {
        broken = true;
      });
    }
    throw error;
  } finally {
    ctx.signal.removeEventListener('abort', abort);
    watch(client, false);
    client?.release(broken || stop.signal.aborted);
  }
}
