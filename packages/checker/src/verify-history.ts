import { streamIdOf } from '@ratchet/transport-nats';
import type { HistoryRecord } from './history-record.js';
import type { StoredEvent } from './stored-event.js';
import type { Tally } from './check-category.js';

/** The events one command id wrote. */
interface CommandWrite {
  readonly streams: Set<string>;
  readonly transactions: Set<string>;
  readonly versions: number[];
}

/** What the pure checks read: the history, the stored events, the stream heads and which streams are in scope. */
export interface HistoryInput {
  readonly history: readonly HistoryRecord[];
  readonly events: readonly StoredEvent[];
  readonly heads: ReadonlyMap<string, number>;
  /** Streams checked by C1 and C5: null means every stream in `events`/`heads`. */
  readonly scope: ReadonlySet<string> | null;
  /** Command ids another category accounts for, which C5 leaves to it (a process's commands: C12). */
  readonly accountedElsewhere?: (commandId: string) => boolean;
}

const streamOf = (r: HistoryRecord): string => streamIdOf(r.aggregateType, r.aggregateId);
const where = (w: CommandWrite): string =>
  `${[...w.streams].join(', ')} @ ${w.versions.join(',')} in ${w.transactions.size} transaction(s)`;

/** C1, C2, C3, C4, C5 and C8: everything decidable from the history, the events and the heads. */
export function verifyHistory(input: HistoryInput, tally: Tally): void {
  const inScope = (streamId: string): boolean => input.scope === null || input.scope.has(streamId);
  const writes = new Map<string, CommandWrite>();
  const byStream = new Map<string, number[]>();
  for (const e of input.events) {
    if (e.commandId !== null) {
      let w = writes.get(e.commandId);
      if (w === undefined) writes.set(e.commandId, (w = { streams: new Set(), transactions: new Set(), versions: [] }));
      w.streams.add(e.streamId);
      w.transactions.add(e.transactionId);
      w.versions.push(e.version);
    }
    if (inScope(e.streamId)) {
      const list = byStream.get(e.streamId);
      if (list === undefined) byStream.set(e.streamId, [e.version]);
      else list.push(e.version);
    }
  }
  for (const w of writes.values()) w.versions.sort((a, b) => a - b);

  // C1: versions exactly 1..n, and the stream head (ratchet.streams) at n.
  const streams = new Set([...byStream.keys(), ...[...input.heads.keys()].filter(inScope)]);
  for (const stream of streams) {
    tally.checked('C1');
    const versions = (byStream.get(stream) ?? []).sort((a, b) => a - b);
    const problems: string[] = [];
    const gaps: number[] = [];
    const dups: number[] = [];
    let expected = 1;
    for (let i = 0; i < versions.length; i += 1) {
      const v = versions[i] as number;
      if (i > 0 && v === versions[i - 1]) dups.push(v);
      else {
        for (; expected < v && gaps.length < 10; expected += 1) gaps.push(expected);
        expected = v + 1;
      }
    }
    if (gaps.length > 0) problems.push(`missing version(s) ${gaps.join(',')}`);
    if (dups.length > 0) problems.push(`duplicate version(s) ${dups.join(',')}`);
    const head = input.heads.get(stream);
    const last = versions.at(-1) ?? 0;
    if (head !== undefined && head !== last) problems.push(`head says version ${head}, last event is ${last}`);
    if (problems.length > 0) tally.violation('C1', `${stream}: ${problems.join('; ')}`);
  }

  // Command ids that some record says may have written: a failed retry of the same id does not own the events.
  const mayWrite = new Set(input.history.filter((r) => r.outcome === 'ok' || r.outcome === 'unknown').map((r) => r.commandId));

  for (const r of input.history) {
    const stream = streamOf(r);
    const w = writes.get(r.commandId);
    switch (r.outcome) {
      case 'ok': {
        // C2: one set of events, in the command's stream, one transaction, contiguous, ending at the told version.
        tally.checked('C2');
        if (w === undefined) {
          if (r.events !== 0)
            tally.violation('C2', `${r.commandId} was acknowledged at ${stream}@${r.version ?? '?'} but no event carries it`);
          break;
        }
        const problems: string[] = [];
        if (w.transactions.size > 1) problems.push('written more than once');
        if (w.streams.size > 1 || !w.streams.has(stream)) problems.push(`not (only) in ${stream}`);
        const first = w.versions[0] as number;
        const last = w.versions.at(-1) as number;
        if (last - first + 1 !== w.versions.length) problems.push('versions not contiguous');
        if (r.version !== undefined && last !== r.version) problems.push(`told version ${r.version}`);
        if (r.events !== undefined && r.events !== w.versions.length) problems.push(`told ${r.events} event(s)`);
        if (problems.length > 0) tally.violation('C2', `${r.commandId}: ${problems.join(', ')}; store has ${where(w)}`);
        break;
      }
      case 'rejected':
      case 'failed': {
        // C3: a definite "nothing written" answer.
        if (mayWrite.has(r.commandId)) break;
        tally.checked('C3');
        if (w !== undefined) tally.violation('C3', `${r.commandId} was ${r.outcome}${r.code ? ` (${r.code})` : ''} but wrote ${where(w)}`);
        break;
      }
      case 'unknown': {
        // C4: zero or one set of events, in its own stream.
        tally.checked('C4');
        if (w !== undefined && (w.transactions.size > 1 || w.streams.size > 1 || !w.streams.has(stream))) {
          tally.violation('C4', `${r.commandId} (outcome unknown) applied more than once or elsewhere: ${where(w)}`);
        }
        break;
      }
    }
  }

  // C5: every event in scope carries a command id of the history.
  const sent = new Set(input.history.map((r) => r.commandId));
  for (const e of input.events) {
    if (!inScope(e.streamId)) continue;
    tally.checked('C5');
    if (e.commandId === null) tally.violation('C5', `${e.streamId}@${e.version} carries no command id`);
    else if (!sent.has(e.commandId) && input.accountedElsewhere?.(e.commandId) !== true)
      tally.violation('C5', `${e.streamId}@${e.version} was written by ${e.commandId}, which the history never sent`);
  }

  verifyAckOrder(input.history, tally);
}

/** C8: per aggregate, an ok command acknowledged before another ok command was sent has the lower version. */
function verifyAckOrder(history: readonly HistoryRecord[], tally: Tally): void {
  // The ok records with their version, per stream.
  const perStream = new Map<string, Array<{ readonly r: HistoryRecord; readonly version: number }>>();
  for (const r of history) {
    if (r.outcome !== 'ok' || r.version === undefined) continue;
    const entry = { r, version: r.version };
    const list = perStream.get(streamOf(r));
    if (list === undefined) perStream.set(streamOf(r), [entry]);
    else list.push(entry);
  }
  for (const [stream, list] of perStream) {
    const byCompletion = list
      .flatMap((e) => (e.r.completedAt === undefined ? [] : [{ ...e, completedAt: e.r.completedAt }]))
      .sort((a, b) => a.completedAt - b.completedAt);
    const byInvocation = [...list].sort((a, b) => a.r.invokedAt - b.r.invokedAt);
    let i = 0;
    let highest: { readonly r: HistoryRecord; readonly version: number } | undefined;
    for (const b of byInvocation) {
      // Sweep in every command acknowledged strictly before b was sent; keep the highest version.
      for (let a = byCompletion[i]; a !== undefined && a.completedAt < b.r.invokedAt; a = byCompletion[++i]) {
        if (highest === undefined || a.version > highest.version) highest = a;
      }
      tally.checked('C8');
      if (highest === undefined) continue;
      // A command that wrote nothing reports the version it saw, which may equal its predecessor's.
      const ok = b.r.events === 0 ? b.version >= highest.version : b.version > highest.version;
      if (!ok) {
        tally.violation(
          'C8',
          `${stream}: ${b.r.commandId} (sent after ${highest.r.commandId} was acknowledged at version ${highest.version}) got version ${b.version}`,
        );
      }
    }
  }
}
