import { createPostgresEventStore, handlePoolErrors, type MasterKey } from '@ratchet/event-store-postgres';
import { streamIdOf } from '@ratchet/transport-nats';
import pg from 'pg';
import { Tally, type CheckReport } from './check-category.js';
import type { HistoryRecord } from './history-record.js';
import type { ReadModelCheck } from './read-model-check.js';
import { loadStoredEvents } from './stored-event.js';
import { verifyEpochs } from './verify-epochs.js';
import { verifyHistory } from './verify-history.js';
import { verifyJetStream } from './verify-jetstream.js';
import { verifyAnswers } from './verify-answers.js';
import { verifyRejections } from './verify-rejections.js';
import { verifyTimers } from './verify-timers.js';
import { verifyProcesses } from './verify-processes.js';
import type { AnyAggregate } from '@ratchet/core';
import { processCommandIdPrefix, type AnyProcess } from '@ratchet/process';
import type { OpenEvents } from './open-events.js';

/** Options of {@link checkHistory}. */
export interface CheckHistoryOptions {
  /** The recorded commands (see `HistoryRecorder`, `readHistory`). */
  readonly history: readonly HistoryRecord[];
  /** Postgres holding the event store. */
  readonly databaseUrl: string;
  /** NATS server(s), comma-separated; C6 runs only when given. */
  readonly natsUrl?: string;
  /** C7: compare read models with the fold of the store; skipped when absent. */
  readonly readModel?: ReadModelCheck;
  /**
   * Which streams C1, C5 and C6 look at: `history` (default), the streams the history sent commands
   * to — use it when other clients write to the same store; `all`, every stream — use it when the
   * history is the store's complete input, so an event nobody sent is caught anywhere.
   */
  readonly scope?: 'history' | 'all';
  /** Event-store schema. Default `ratchet`. */
  readonly schema?: string;
  /** The workers' master key: checks that replay streams (C7 through its store, C10, C11, C12) see sealed values opened. Default none. */
  readonly masterKey?: MasterKey;
  /** Most violation details kept per category (counts stay exact). Default 100. */
  readonly maxDetails?: number;
  /**
   * Aggregates whose rejections C10 decides again at the version they name (replaying the stored
   * stream); rejections of other types get the version check only. Default none.
   */
  readonly aggregates?: readonly AnyAggregate[];
  /** C11: a timer due less than this long before the check may not have fired yet (ms). Default 15,000. */
  readonly timerGraceMs?: number;
  /**
   * C12: the process managers whose commands and progress to check (their commands' events are
   * theirs, not the history's, for C5); skipped when absent. Run once they have caught up.
   */
  readonly processes?: readonly AnyProcess[];
}

/**
 * Check a recorded history and the store against the guarantees, category by category (C1…C12,
 * see `CheckCategory`). Run it once the system is quiet: the relay and projectors caught up.
 * @example
 * const report = await checkHistory({ history: await readHistory('history.jsonl'), databaseUrl, natsUrl });
 * if (report.violations.length > 0) process.exitCode = 1;
 */
export async function checkHistory(options: CheckHistoryOptions): Promise<CheckReport> {
  const schema = options.schema ?? 'ratchet';
  const maxDetails = options.maxDetails ?? 100;
  const tally = new Tally(maxDetails);
  const all = options.scope === 'all';
  const streamIds = [...new Set(options.history.map((r) => streamIdOf(r.aggregateType, r.aggregateId)))];
  const scope = all ? null : new Set(streamIds);
  const inScope = (streamId: string): boolean => scope === null || scope.has(streamId);

  const pool = handlePoolErrors(new pg.Pool({ connectionString: options.databaseUrl, max: 4 }));
  // Checks that replay streams through the app's code see sealed sensitive values opened, as decide did.
  const store = createPostgresEventStore({ pool, schema, ...(options.masterKey === undefined ? {} : { masterKey: options.masterKey }) });
  const open: OpenEvents = (events) => store.cipher.openEvents(events);
  try {
    const client = await pool.connect();
    let loaded: Awaited<ReturnType<typeof loadStoredEvents>>;
    try {
      loaded = await loadStoredEvents(
        client,
        schema,
        all ? { all: true } : { all: false, streamIds, commandIds: [...new Set(options.history.map((r) => r.commandId))] },
      );
      await verifyEpochs(client, schema, tally, maxDetails);
      await verifyTimers(
        client,
        schema,
        { graceMs: options.timerGraceMs ?? 15_000, open, ...(options.aggregates === undefined ? {} : { aggregates: options.aggregates }) },
        tally,
      );
    } finally {
      client.release();
    }
    // Events no history command wrote, which other categories account for: timer fires (C11, always
    // run: each must match a start still pending) and the given process managers' commands (C12).
    const prefixes = ['timer:', 'schedule:', ...(options.processes ?? []).map((p) => processCommandIdPrefix(p.name))];
    const accountedElsewhere = (commandId: string): boolean => prefixes.some((prefix) => commandId.startsWith(prefix));
    verifyHistory({ history: options.history, events: loaded.events, heads: loaded.heads, scope, accountedElsewhere }, tally);
    if (options.processes === undefined) tally.skip('C12');
    else {
      const client = await pool.connect();
      try {
        await verifyProcesses(client, schema, options.processes, tally, open);
      } finally {
        client.release();
      }
    }
    const rejections = verifyAnswers({ history: options.history, events: loaded.events }, tally);
    if (options.aggregates !== undefined && rejections.length > 0) {
      const client = await pool.connect();
      try {
        await verifyRejections(
          client,
          schema,
          rejections.map((c) => c.record),
          options.aggregates,
          tally,
          open,
        );
      } finally {
        client.release();
      }
    }

    if (options.natsUrl === undefined) tally.skip('C6');
    else {
      const storedNow = async (ids: ReadonlyArray<{ streamId: string; version: number }>): Promise<Set<string>> => {
        const res = await pool.query<{ stream_id: string; version: number }>(
          `SELECT e.stream_id, e.version FROM "${schema}".events e JOIN unnest($1::text[], $2::int[]) AS w(stream_id, version) USING (stream_id, version)`,
          [ids.map((i) => i.streamId), ids.map((i) => i.version)],
        );
        return new Set(res.rows.map((r) => `${r.stream_id}:${r.version}`));
      };
      await verifyJetStream(options.natsUrl, loaded.events, inScope, tally, storedNow);
    }

    if (options.readModel === undefined) tally.skip('C7');
    else {
      const result = await options.readModel(store, pool);
      tally.checked('C7', result.checked);
      for (const m of result.mismatches) tally.violation('C7', m);
    }
  } finally {
    await pool.end();
  }
  return tally.report();
}
