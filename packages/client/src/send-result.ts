import type { DomainEvent, RatchetError } from '@ratchet/core';

/** What every result carries besides its outcome. */
interface ResultInfo {
  /** The command id used on every attempt; resend with it to learn the outcome of a TIMEOUT. */
  readonly commandId: string;
  /** Requests sent (0 when the command failed local checks). */
  readonly attempts: number;
}

/** A committed event as the reply reports it. */
export type SentEvent<TEvent extends DomainEvent = DomainEvent> = TEvent & {
  /** Position in the aggregate's stream, from 1. */
  readonly version: number;
  readonly schemaVersion: number;
};

/** The command was accepted; `duplicate` when this command id had been committed before. */
export interface OkResult<TEvent extends DomainEvent = DomainEvent> extends ResultInfo {
  readonly status: 'ok';
  readonly version: number;
  readonly events: ReadonlyArray<SentEvent<TEvent>>;
  readonly duplicate: boolean;
}

/** The aggregate refused the command by a business rule. */
export interface RejectedResult extends ResultInfo {
  readonly status: 'rejected';
  readonly reason: string;
  readonly version: number;
}

/** The command failed; `error.code` TIMEOUT means the outcome is unknown. */
export interface ErrorResult extends ResultInfo {
  readonly status: 'error';
  readonly error: RatchetError;
}

/** The outcome of one `send`. */
export type SendResult<TEvent extends DomainEvent = DomainEvent> = OkResult<TEvent> | RejectedResult | ErrorResult;
