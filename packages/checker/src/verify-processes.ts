import { createHash } from 'node:crypto';
import type { RecordedEvent } from '@ratchet/core';
import { toProcessEvent, type AnyProcess, type ProcessCommand, type ProcessRejection, type ProcessStep } from '@ratchet/process';
import { canonicalJson } from '@ratchet/transport-nats';
import type pg from 'pg';
import type { Tally } from './check-category.js';
import { asStored, type OpenEvents } from './open-events.js';

const P = '"ratchet_processes"';

interface LogRow {
  command_id: string;
  trigger_stream: string;
  trigger_version: number;
  step: string;
  round: number;
  target_stream: string;
  command: { type: string; payload: unknown };
  outcome: 'ok' | 'rejected' | 'failed';
  target_version: number | null;
  reason: string | null;
  code: string | null;
}

/** What the store holds of one command id: its processed-command row and the events it wrote. */
interface StoreCommand {
  streamId: string;
  version: number | null;
  eventStreams: Set<string>;
  transactions: Set<string>;
  versions: number[];
}

// The checker derives command ids and runs the handlers itself, from the documented format and
// rules (docs/workflows.md, section 2), not with the runner's code: an oracle that shared the
// runner's code would share its bugs.

/** The documented command id of a process's command (`proc:<process>:<type>:<id>:<version>:<step>`, hashed forms for other ids). */
export function expectedCommandId(process: string, streamId: string, version: number, step: string): string {
  const digest = (text: string): string => createHash('sha256').update(text).digest('base64url');
  const valid = (id: string): boolean => /^[A-Za-z0-9_:.-]{1,128}$/.test(id);
  const type = streamId.slice(0, streamId.indexOf('/'));
  const id = streamId.slice(streamId.indexOf('/') + 1);
  const plain = `proc:${process}:${type}:${id}:${version}:${step}`;
  if (/^[A-Za-z0-9_:-]+$/.test(id) && valid(plain)) return plain;
  const hashed = `proc:${process}:${type}:.${digest(id)}:${version}:${step}`;
  return valid(hashed) ? hashed : `proc:${process}:.${digest(`${streamId}\u0000${version}\u0000${step}`)}`;
}

/**
 * C12, process managers: every command a process sent was committed at most once, and every event
 * it subscribes to was handled with its commands answered. Read from the store (events and
 * processed commands under `proc:<process>:`) and the process's tables (positions, states, command
 * log, journal, parked events):
 * - each stored command id wrote one stream in one transaction, and the process's log has it as
 *   answered ok at that stream and version (a command in the store the log lacks was sent by a run
 *   that never checkpointed and was not re-run the same way);
 * - each command the log has as ok is in the store at the version the log says;
 * - every stream of a subscribed type was handled to its head, with no event parked;
 * - for processes keyed by stream (the default correlation), the stream's events replayed through
 *   the process's own handlers, with the log's answers, give exactly the logged commands (ids,
 *   targets, commands, steps) and the stored state: no command lost, none doubled, no update lost;
 * - no journaled answer is left for an event already checkpointed.
 */
export async function verifyProcesses(
  client: pg.ClientBase,
  schema: string,
  processes: readonly AnyProcess[],
  tally: Tally,
  open: OpenEvents = asStored,
): Promise<void> {
  const s = `"${schema}"`;
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('ratchet_processes.positions')::text AS t`);
  if (exists.rows[0]?.t == null) {
    for (const p of processes) tally.violation('C12', `process ${p.name}: no process tables in this database (no runner ever ran it)`);
    return;
  }
  for (const p of processes) {
    const like = `proc:${p.name.replace(/[\\%_]/g, (c) => `\\${c}`)}:%`;
    const store = new Map<string, StoreCommand>();
    const processed = await client.query<{ command_id: string; stream_id: string; version: number | null }>(
      `SELECT command_id, stream_id, (result->>'version')::int AS version FROM ${s}.processed_commands WHERE command_id LIKE $1`,
      [like],
    );
    for (const r of processed.rows)
      store.set(r.command_id, {
        streamId: r.stream_id,
        version: r.version,
        eventStreams: new Set(),
        transactions: new Set(),
        versions: [],
      });
    const written = await client.query<{ command_id: string; stream_id: string; version: number; txid: string }>(
      `SELECT metadata->>'commandId' AS command_id, stream_id, version, transaction_id::text AS txid FROM ${s}.events WHERE metadata->>'commandId' LIKE $1`,
      [like],
    );
    for (const r of written.rows) {
      let c = store.get(r.command_id);
      if (c === undefined)
        store.set(
          r.command_id,
          (c = { streamId: r.stream_id, version: null, eventStreams: new Set(), transactions: new Set(), versions: [] }),
        );
      c.eventStreams.add(r.stream_id);
      c.transactions.add(r.txid);
      c.versions.push(r.version);
    }
    const log = new Map(
      (await client.query<LogRow>(`SELECT * FROM ${P}.commands WHERE process = $1`, [p.name])).rows.map((r) => [r.command_id, r]),
    );

    // Committed at most once, and only what the log says was answered ok.
    for (const [id, c] of store) {
      tally.checked('C12');
      const versions = c.versions.sort((a, b) => a - b);
      const last = versions.at(-1) ?? c.version;
      if (c.eventStreams.size > 1 || c.transactions.size > 1 || !consecutive(versions)) {
        tally.violation(
          'C12',
          `${id} was committed more than once: ${[...c.eventStreams].join(', ')} @ ${versions.join(',')} in ${c.transactions.size} transactions`,
        );
        continue;
      }
      const row = log.get(id);
      if (row === undefined)
        tally.violation(
          'C12',
          `${id} is committed in ${c.streamId}@${last ?? '?'} but ${p.name}'s command log does not have it: sent by a run that was never checkpointed`,
        );
      else if (row.outcome !== 'ok' || row.target_stream !== c.streamId || (last !== null && row.target_version !== last)) {
        tally.violation(
          'C12',
          `${id} is committed in ${c.streamId}@${last ?? '?'} but the log says ${row.outcome} at ${row.target_stream}@${row.target_version ?? '?'}`,
        );
      }
    }
    for (const [id, row] of log) {
      if (row.outcome !== 'ok') continue;
      tally.checked('C12');
      if (!store.has(id))
        tally.violation(
          'C12',
          `${id}: ${p.name}'s log has it answered ok at ${row.target_stream}@${row.target_version ?? '?'}, but the store has no such command`,
        );
    }

    // Every subscribed stream handled to its head, nothing parked; then the replay.
    const positions = new Map(
      (
        await client.query<{ stream_id: string; last_version: number; parked_version: number | null }>(
          `SELECT stream_id, last_version, parked_version FROM ${P}.positions WHERE process = $1`,
          [p.name],
        )
      ).rows.map((r) => [r.stream_id, r]),
    );
    const heads = (
      await client.query<{ stream_id: string; version: number }>(
        `SELECT stream_id, version FROM ${s}.streams WHERE split_part(stream_id, '/', 1) = ANY($1::text[]) AND version > 0 ORDER BY stream_id`,
        [p.aggregateTypes],
      )
    ).rows;
    const parked = new Map(
      (
        await client.query<{ stream_id: string; event_version: number; reason: string; error: string }>(
          `SELECT * FROM ${P}.parked WHERE process = $1`,
          [p.name],
        )
      ).rows.map((r) => [r.stream_id, r]),
    );
    const states = new Map(
      (
        await client.query<{ instance: string; state: unknown }>(`SELECT instance, state FROM ${P}.instances WHERE process = $1`, [p.name])
      ).rows.map((r) => [r.instance, r.state]),
    );
    const logByTrigger = new Map<string, LogRow[]>();
    for (const row of log.values()) logByTrigger.set(row.trigger_stream, [...(logByTrigger.get(row.trigger_stream) ?? []), row]);

    for (const head of heads) {
      tally.checked('C12');
      const position = positions.get(head.stream_id);
      const handledTo = position?.last_version ?? 0;
      const hold = parked.get(head.stream_id);
      if (hold !== undefined)
        tally.violation(
          'C12',
          `${head.stream_id}@${hold.event_version} is parked by ${p.name} (${hold.reason}: ${hold.error.slice(0, 200)}): its commands are not all answered`,
        );
      else if (handledTo !== head.version)
        tally.violation('C12', `${head.stream_id}: ${p.name} handled it to version ${handledTo} of ${head.version}`);
      if (!p.keyedByStream) continue;
      const events = await open(await readStream(client, s, head.stream_id, handledTo));
      const problem = replay(
        p,
        events,
        log,
        logByTrigger.get(head.stream_id) ?? [],
        states.has(head.stream_id) ? states.get(head.stream_id) : p.initialState,
      );
      tally.checked('C12', events.length);
      if (problem !== undefined) tally.violation('C12', `${head.stream_id}: ${problem}`);
    }

    const journal = await client.query<{ command_id: string; trigger_stream: string; trigger_version: number }>(
      `SELECT command_id, trigger_stream, trigger_version FROM ${P}.answers WHERE process = $1`,
      [p.name],
    );
    for (const j of journal.rows) {
      if (j.trigger_version <= (positions.get(j.trigger_stream)?.last_version ?? 0)) {
        tally.violation(
          'C12',
          `${j.command_id}: a journaled answer is left for ${j.trigger_stream}@${j.trigger_version}, which is checkpointed`,
        );
      }
    }
  }
}

async function readStream(client: pg.ClientBase, s: string, streamId: string, toVersion: number): Promise<RecordedEvent[]> {
  const res = await client.query<{
    version: number;
    type: string;
    data: unknown;
    schema_version: number;
    metadata: Record<string, unknown>;
    global_position: string;
    txid: string;
    recorded_at: Date;
    epoch: number | null;
  }>(
    `SELECT version, type, data, schema_version, metadata, global_position, transaction_id::text AS txid, recorded_at, epoch FROM ${s}.events WHERE stream_id = $1 AND version <= $2 ORDER BY version`,
    [streamId, toVersion],
  );
  return res.rows.map((r) => ({
    streamId,
    version: r.version,
    type: r.type,
    data: r.data,
    schemaVersion: r.schema_version,
    metadata: r.metadata,
    globalPosition: Number(r.global_position),
    transactionId: r.txid,
    recordedAt: r.recorded_at,
    epoch: r.epoch,
  }));
}

/**
 * Run a stream's handled events through the process's handlers with the logged answers (`handle`,
 * then `onRejected` for each refused command in emitted order, round after round); undefined when
 * the commands and the final state are exactly what the process recorded, else what differs first.
 */
function replay(
  p: AnyProcess,
  events: readonly RecordedEvent[],
  log: ReadonlyMap<string, LogRow>,
  logged: readonly LogRow[],
  stored: unknown,
): string | undefined {
  let state: unknown = p.initialState;
  const expected = new Set<string>();
  const copy = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;
  for (const e of events) {
    if (!p.handles(e.streamId, e.type)) continue;
    const trigger = toProcessEvent(e);
    const at = `event ${e.version} (${e.type})`;
    let step: ProcessStep<unknown>;
    try {
      step = p.handle(trigger, copy(state));
    } catch (error) {
      return `${at} was handled, yet its replay throws: ${String(error)}`;
    }
    state = step.state === undefined ? state : copy(step.state);
    let commands: readonly ProcessCommand[] = step.commands ?? [];
    for (let round = 1; commands.length > 0; round += 1) {
      if (round > 64) return `${at}: onRejected keeps answering past 64 rounds`;
      const next: ProcessCommand[] = [];
      for (const c of commands) {
        const id = expectedCommandId(p.name, e.streamId, e.version, c.step);
        expected.add(id);
        const row = log.get(id);
        if (row === undefined) return `${at} sends ${id}, which ${p.name}'s log does not have: a command lost`;
        const target = `${c.aggregateType}/${c.aggregateId}`;
        const body = canonicalJson({ type: c.command.type, payload: c.command.payload ?? {} });
        if (
          row.target_stream !== target ||
          canonicalJson(row.command) !== body ||
          row.step !== c.step ||
          row.trigger_stream !== e.streamId ||
          row.trigger_version !== e.version ||
          row.round !== round
        ) {
          return `${at}: ${id}: the log has ${row.target_stream} ${canonicalJson(row.command)} (round ${row.round}), the replay sends ${target} ${body} (round ${round})`;
        }
        if (row.outcome === 'ok') continue;
        const rejection: ProcessRejection = {
          outcome: row.outcome,
          command: c,
          commandId: id,
          reason: row.reason ?? '',
          ...(row.outcome === 'failed' ? { code: row.code ?? '' } : { version: row.target_version ?? 0 }),
          trigger,
        };
        const r = p.onRejected(rejection, copy(state));
        state = r.state === undefined ? state : copy(r.state);
        next.push(...(r.commands ?? []));
      }
      commands = next;
    }
  }
  const extra = logged.filter((r) => !expected.has(r.command_id) && r.trigger_version <= (events.at(-1)?.version ?? 0));
  if (extra.length > 0)
    return `${p.name}'s log has ${extra.map((r) => r.command_id).join(', ')}, which a replay of the stream does not send: a command doubled`;
  if (canonicalJson(state) !== canonicalJson(stored))
    return `${p.name}'s stored state ${canonicalJson(stored)} is not the replay's ${canonicalJson(state)}: an update lost`;
  return undefined;
}

/** Whether sorted numbers run without a gap or a repeat (n, n + 1, …); true when there are none. */
function consecutive(sorted: readonly number[]): boolean {
  const first = sorted[0];
  return first === undefined || sorted.every((v, i) => v === first + i);
}
