import type { EventMetadata, NewEvent, RatchetError, RecordedEvent, TimerEffects } from '@ratchet/core';

/** The stream version an append expects: a non-negative integer (0 = the stream must not exist) or `'any'`. */
export type ExpectedVersion = number | 'any';

/** A writer's claim on a partition: appends commit only while `epoch` is the partition's current epoch. */
export interface Fence {
  /** The partition the stream belongs to. */
  readonly partition: number;
  /** The epoch returned by `claimPartition` to this writer. */
  readonly epoch: number;
}

/** Options of one append. */
export interface AppendOptions {
  /** Idempotency key: a retry with the same id returns the first result and writes nothing. No default (no dedupe). */
  readonly commandId?: string;
  /** Hash of the command; the same `commandId` with a different hash is refused with COMMAND_ID_REUSED. No default (not compared). */
  readonly requestHash?: string;
  /** Metadata merged into every event's own metadata (the event's keys win, `commandId` wins over both). Default `{}`. */
  readonly metadata?: EventMetadata;
  /** Fencing check done in the append's transaction. Default: no fencing. */
  readonly fence?: Fence;
  /**
   * Durable timers to start and cancel in the append's transaction, only if it commits new events
   * (not for a duplicate). Needs `fence` (a timer belongs to the partition's owner). Default none.
   */
  readonly timers?: TimerEffects;
}

/** One append inside a group commit. */
export interface AppendRequest extends AppendOptions {
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersion;
  readonly events: readonly NewEvent[];
}

/** What an append committed (or, with `duplicate: true`, what the first append of that command id committed). */
export interface AppendResult {
  readonly streamId: string;
  /** Version of the first new event. */
  readonly fromVersion: number;
  /** The stream's version after the append (version of the last new event). */
  readonly version: number;
  readonly events: readonly RecordedEvent[];
  /** True when the command id had already been committed; nothing was written this time. */
  readonly duplicate: boolean;
}

/** The outcome of one request of a group commit. */
export type AppendOutcome = { readonly ok: true; readonly result: AppendResult } | { readonly ok: false; readonly error: RatchetError };

/** A command id's first committed result, as `findCommand` returns it. */
export interface ProcessedCommand {
  readonly commandId: string;
  /** Hash of the command that first used the id, when the writer gave one. */
  readonly requestHash: string | null;
  /** What the first append committed (`duplicate` is true: reading it writes nothing). */
  readonly result: AppendResult;
}
