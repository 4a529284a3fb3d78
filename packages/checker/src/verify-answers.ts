import { requireEntry } from '@ratchet/core';
import { streamIdOf } from '@ratchet/transport-nats';
import type { Tally } from './check-category.js';
import type { HistoryRecord } from './history-record.js';
import type { StoredEvent } from './stored-event.js';

/**
 * When each version of one stream can have been committed, as far as the history tells: no earlier
 * than its command was sent (`after`), no later than its command was first acknowledged (`before`).
 * Versions are committed in order, so the bounds are made monotonic.
 */
export interface CommitWindows {
  /** The stream's version now (its last event), 0 when empty. */
  readonly head: number;
  /** Earliest possible commit time of `version` (−∞ when unknown; version 0 is −∞). */
  after(version: number): number;
  /** Latest possible commit time of `version` (+∞ when unknown; versions past the head are +∞). */
  before(version: number): number;
}

/** The version a definite answer says the stream was at, and which record said it. */
interface Claim {
  readonly record: HistoryRecord;
  readonly version: number;
  /** When the answer came (only answered records make claims). */
  readonly answeredAt: number;
  readonly what: string;
}

/** What C10 reads besides the history: every stored event of the streams in question. */
export interface AnswersInput {
  readonly history: readonly HistoryRecord[];
  readonly events: readonly StoredEvent[];
}

/**
 * C10: every definite answer that wrote nothing — a rejection, a VERSION_CONFLICT, an ok without
 * events — names a version the stream really had at some moment between the request being sent and
 * the answer arriving. A worker answering from stale memory (paused past its lease) breaks it
 * while leaving the store consistent, which C1–C9 cannot see. Only certain violations count: a
 * version the stream left before the request was sent (the next version's command had already been
 * acknowledged), or reached only after the answer (its command was sent after it). Returns the
 * rejections it checked, with the version each was decided at, for an optional decide re-check.
 */
export function verifyAnswers(input: AnswersInput, tally: Tally): Claim[] {
  const claims = input.history.flatMap((r) => claimOf(r, tally));
  if (claims.length === 0) return [];
  const streams = new Set(claims.map((c) => streamOf(c.record)));
  const windows = commitWindows(input.history, input.events, streams);
  for (const claim of claims) {
    tally.checked('C10');
    const r = claim.record;
    const w = requireEntry(windows, streamOf(r), 'commit windows of stream');
    const sent = r.invokedAt;
    const answered = claim.answeredAt;
    const problem =
      claim.version > w.head
        ? `the stream never reached version ${claim.version} (it ends at ${w.head})`
        : w.before(claim.version + 1) < sent
          ? `version ${claim.version + 1} had been acknowledged before it was sent`
          : w.after(claim.version) > answered
            ? `version ${claim.version} was written by a command sent after the answer`
            : undefined;
    if (problem !== undefined)
      tally.violation('C10', `${streamOf(r)}: ${r.commandId} was told ${claim.what} at version ${claim.version}, but ${problem}`);
  }
  return claims.filter((c) => c.record.outcome === 'rejected');
}

const streamOf = (r: HistoryRecord): string => streamIdOf(r.aggregateType, r.aggregateId);

/** The version a record's answer vouches for, or nothing when it is not a definite answer that wrote nothing. */
function claimOf(r: HistoryRecord, tally: Tally): Claim[] {
  if (r.completedAt === undefined) return [];
  if (r.outcome === 'rejected' && r.version !== undefined)
    return [
      { record: r, version: r.version, answeredAt: r.completedAt, what: `rejected${r.reason === undefined ? '' : ` ("${r.reason}")`}` },
    ];
  if (r.outcome === 'ok' && r.events === 0 && r.version !== undefined)
    return [{ record: r, version: r.version, answeredAt: r.completedAt, what: 'ok with no events' }];
  if (r.outcome === 'failed' && r.code === 'VERSION_CONFLICT' && r.actualVersion !== undefined) {
    if (r.expectedVersion !== undefined && r.expectedVersion === r.actualVersion) {
      tally.checked('C10');
      tally.violation(
        'C10',
        `${streamOf(r)}: ${r.commandId} was told VERSION_CONFLICT although the actual version it names is the expected one (${r.actualVersion})`,
      );
      return [];
    }
    return [
      { record: r, version: r.actualVersion, answeredAt: r.completedAt, what: `VERSION_CONFLICT (expected ${r.expectedVersion ?? '?'})` },
    ];
  }
  return [];
}

/** Commit-time bounds per version for the given streams, from the events' command ids and the history's times. */
export function commitWindows(
  history: readonly HistoryRecord[],
  events: readonly StoredEvent[],
  streams: ReadonlySet<string>,
): Map<string, CommitWindows> {
  const sentAt = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  for (const r of history) {
    sentAt.set(r.commandId, Math.min(sentAt.get(r.commandId) ?? Infinity, r.invokedAt));
    if (r.outcome === 'ok' && r.completedAt !== undefined)
      ackedAt.set(r.commandId, Math.min(ackedAt.get(r.commandId) ?? Infinity, r.completedAt));
  }
  const writers = new Map<string, Array<string | null>>();
  for (const e of events) {
    if (!streams.has(e.streamId)) continue;
    let list = writers.get(e.streamId);
    if (list === undefined) writers.set(e.streamId, (list = []));
    list[e.version] = e.commandId;
  }
  const out = new Map<string, CommitWindows>();
  for (const stream of streams) {
    const list = writers.get(stream) ?? [];
    const head = Math.max(0, list.length - 1);
    const after = new Float64Array(head + 2).fill(-Infinity);
    const before = new Float64Array(head + 2).fill(Infinity);
    for (let v = 1; v <= head; v += 1) {
      const id = list[v];
      const sent = id == null ? -Infinity : (sentAt.get(id) ?? -Infinity);
      after[v] = Math.max(after[v - 1] ?? -Infinity, sent); // in range: the fill value is the default
    }
    for (let v = head; v >= 1; v -= 1) {
      const id = list[v];
      const acked = id == null ? Infinity : (ackedAt.get(id) ?? Infinity);
      before[v] = Math.min(before[v + 1] ?? Infinity, acked);
    }
    out.set(stream, {
      head,
      after: (v) => (v <= 0 ? -Infinity : v > head ? Infinity : (after[v] ?? -Infinity)),
      before: (v) => (v <= 0 ? -Infinity : v > head ? Infinity : (before[v] ?? Infinity)),
    });
  }
  return out;
}
