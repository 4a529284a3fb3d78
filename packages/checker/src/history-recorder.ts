import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { CommandOutcome, HistoryRecord } from './history-record.js';

/** What a load driver got back, shaped like `@ratchet/client`'s SendResult (any object of this shape works). */
export type CommandResultLike =
  | { readonly status: 'ok'; readonly version: number; readonly events?: readonly unknown[] }
  | { readonly status: 'rejected'; readonly reason?: string; readonly version?: number }
  | {
      readonly status: 'error';
      readonly error: { readonly code: string; readonly retryable?: boolean; readonly details?: Readonly<Record<string, unknown>> };
    };

/** The command a driver is about to send. */
export interface InvokedCommand {
  readonly commandId: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly commandType: string;
  readonly payload?: unknown;
  /** The expected version it is sent with, if any. */
  readonly expectedVersion?: number;
}

/** A command sent and not yet answered; call `completed` once with what came back. */
export interface PendingCommand {
  completed(result: CommandResultLike): HistoryRecord;
}

/** Options of {@link HistoryRecorder}. */
export interface HistoryRecorderOptions {
  /** Append JSON lines to this file as commands complete. Default: keep records in memory only. */
  readonly path?: string;
  /** Clock in epoch milliseconds. Default `performance.timeOrigin + performance.now()` (sub-millisecond, monotonic). */
  readonly now?: () => number;
}

// Errors after which the command may have been committed: the client timed out, could not read
// the reply, or hit a failure inside Ratchet (which can happen after the commit).
const UNKNOWN_CODES = new Set(['TIMEOUT', 'MALFORMED_REPLY', 'INTERNAL']);

/**
 * The outcome a history records for a result: retryable errors (the client gave up retrying) and
 * TIMEOUT, MALFORMED_REPLY and INTERNAL are `unknown`; other errors are `failed`.
 */
export function outcomeOf(result: CommandResultLike): CommandOutcome {
  if (result.status === 'ok') return 'ok';
  if (result.status === 'rejected') return 'rejected';
  return result.error.retryable === true || UNKNOWN_CODES.has(result.error.code) ? 'unknown' : 'failed';
}

/**
 * Records what a load driver sent and what came back, as the checker's JSON-lines history.
 * Commands still pending at `close()` are written as `unknown`.
 * @example
 * const recorder = new HistoryRecorder({ path: 'history.jsonl' });
 * const pending = recorder.invoked({ commandId, aggregateType: 'turnstile', aggregateId: id, commandType: 'pushArm' });
 * pending.completed(await client.send(Turnstile, id, { type: 'pushArm', payload: {} }, { commandId }));
 * await recorder.close();
 */
export class HistoryRecorder {
  /** Every completed command so far, in completion order. */
  readonly records: HistoryRecord[] = [];
  readonly #now: () => number;
  readonly #out: WriteStream | undefined;
  readonly #pending = new Map<number, { command: InvokedCommand; invokedAt: number }>();
  #seq = 0;

  constructor(options: HistoryRecorderOptions = {}) {
    this.#now = options.now ?? (() => performance.timeOrigin + performance.now());
    this.#out = options.path === undefined ? undefined : createWriteStream(options.path, { flags: 'a' });
  }

  /** Note that a command is being sent now. */
  invoked(command: InvokedCommand): PendingCommand {
    const key = (this.#seq += 1);
    const invokedAt = this.#now();
    this.#pending.set(key, { command, invokedAt });
    return {
      completed: (result) => {
        if (!this.#pending.delete(key)) throw new Error(`command ${command.commandId} was already completed`);
        const outcome = outcomeOf(result);
        return this.#write({
          ...fields(command),
          invokedAt,
          completedAt: this.#now(),
          outcome,
          ...(result.status === 'ok'
            ? { version: result.version, ...(result.events === undefined ? {} : { events: result.events.length }) }
            : {}),
          ...(result.status === 'rejected' ? rejectedFields(result) : {}),
          ...(result.status === 'error' ? errorFields(result.error) : {}),
        });
      },
    };
  }

  /** Commands sent and not answered yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Write the pending commands as `unknown` (no `completedAt`) and close the file. */
  async close(): Promise<void> {
    for (const { command, invokedAt } of this.#pending.values()) this.#write({ ...fields(command), invokedAt, outcome: 'unknown' });
    this.#pending.clear();
    if (this.#out !== undefined) {
      this.#out.end();
      await once(this.#out, 'close');
    }
  }

  #write(record: HistoryRecord): HistoryRecord {
    this.records.push(record);
    this.#out?.write(`${JSON.stringify(record)}\n`);
    return record;
  }
}

function fields(c: InvokedCommand): Omit<HistoryRecord, 'invokedAt' | 'outcome'> {
  return {
    commandId: c.commandId,
    aggregateType: c.aggregateType,
    aggregateId: c.aggregateId,
    commandType: c.commandType,
    ...(c.payload === undefined ? {} : { payload: c.payload }),
    ...(c.expectedVersion === undefined ? {} : { expectedVersion: c.expectedVersion }),
  };
}

function rejectedFields(r: { readonly reason?: string; readonly version?: number }): Partial<HistoryRecord> {
  return { ...(r.version === undefined ? {} : { version: r.version }), ...(r.reason === undefined ? {} : { reason: r.reason }) };
}

/** The code, and for a VERSION_CONFLICT the version the answer named (what C10 checks). */
function errorFields(error: { readonly code: string; readonly details?: Readonly<Record<string, unknown>> }): Partial<HistoryRecord> {
  const actual = error.details?.actualVersion;
  return {
    code: error.code,
    ...(error.code === 'VERSION_CONFLICT' && Number.isSafeInteger(actual) ? { actualVersion: actual as number } : {}),
  };
}
