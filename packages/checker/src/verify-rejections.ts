import type { AnyAggregate, Decision } from '@ratchet/core';
import { streamIdOf } from '@ratchet/transport-nats';
import type pg from 'pg';
import type { Tally } from './check-category.js';
import type { HistoryRecord } from './history-record.js';
import { asStored, type OpenEvents } from './open-events.js';

/**
 * C10, for aggregates the checker knows: replaying a rejected command's stream up to the version it
 * was decided at and deciding it again must reject it for the same reason. A rejection that the
 * committed history does not produce is a wrong answer, whichever version it names.
 */
export async function verifyRejections(
  client: pg.ClientBase,
  schema: string,
  rejections: readonly HistoryRecord[],
  aggregates: readonly AnyAggregate[],
  tally: Tally,
  open: OpenEvents = asStored,
): Promise<void> {
  const byType = new Map(aggregates.map((a) => [a.type, a]));
  // Per stream: its aggregate, and the records with the version each was rejected at.
  const byStream = new Map<
    string,
    { readonly aggregate: AnyAggregate; readonly records: Array<{ readonly r: HistoryRecord; readonly version: number }> }
  >();
  for (const r of rejections) {
    const aggregate = byType.get(r.aggregateType);
    if (aggregate === undefined || r.version === undefined) continue;
    const stream = streamIdOf(r.aggregateType, r.aggregateId);
    const entry = { r, version: r.version };
    const group = byStream.get(stream);
    if (group === undefined) byStream.set(stream, { aggregate, records: [entry] });
    else group.records.push(entry);
  }
  for (const [stream, { aggregate, records }] of byStream) {
    const upTo = Math.max(...records.map((e) => e.version));
    const rows = await client.query<{ version: number; type: string; data: unknown; schema_version: number }>(
      `SELECT version, type, data, schema_version FROM "${schema}".events WHERE stream_id = $1 AND version <= $2 ORDER BY version`,
      [stream, upTo],
    );
    // The state at each version the records name, folding the stream once.
    const states = new Map<number, ReturnType<AnyAggregate['initialState']>>();
    let state = aggregate.initialState();
    const wanted = new Set(records.map((e) => e.version));
    if (wanted.has(0)) states.set(0, state);
    for (const row of await open(rows.rows)) {
      state = aggregate.replay([{ type: row.type, data: row.data, schemaVersion: row.schema_version }], state);
      if (wanted.has(row.version)) states.set(row.version, state);
    }
    for (const { r, version } of records) {
      tally.checked('C10');
      const at = states.get(version);
      if (at === undefined) continue; // a version the stream never reached: verifyAnswers reports it
      let decision: Decision;
      try {
        decision = aggregate.runtime.decideParsed(
          aggregate.runtime.parseCommand({ type: r.commandType, payload: r.payload ?? {} }),
          at,
          r.aggregateId,
        );
      } catch (error) {
        tally.violation(
          'C10',
          `${stream}: ${r.commandId} was rejected at version ${r.version}, but deciding it there throws ${String(error)}`,
        );
        continue;
      }
      if (decision.status === 'accepted')
        tally.violation(
          'C10',
          `${stream}: ${r.commandId} (${r.commandType}) was rejected at version ${r.version}, but the stream at that version accepts it`,
        );
      else if (r.reason !== undefined && decision.reason !== r.reason) {
        tally.violation(
          'C10',
          `${stream}: ${r.commandId} was rejected at version ${r.version} for "${r.reason}", but the stream at that version rejects it for "${decision.reason}"`,
        );
      }
    }
  }
}
