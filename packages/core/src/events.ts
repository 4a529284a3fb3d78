/** Metadata carried by every stored event. */
export interface EventMetadata {
  /** The command that produced the event. */
  readonly commandId?: string;
  /** Ties together everything caused by one user action. */
  readonly correlationId?: string;
  /** The message (command or event) that directly caused this one. */
  readonly causationId?: string;
  /** W3C trace context of the command that produced the event. */
  readonly traceparent?: string;
  readonly [key: string]: unknown;
}

/** A domain event as `decide` produces it: a type and its payload. */
export interface DomainEvent<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly data: TData;
}

/** An event handed to the store for appending. */
export interface NewEvent {
  readonly type: string;
  readonly data: unknown;
  /** Schema version of `data`; default 1. */
  readonly schemaVersion?: number;
  readonly metadata?: EventMetadata;
}

/** An event as it was committed: its place in its stream and in the global feed. */
export interface RecordedEvent {
  readonly streamId: string;
  /** Position in its stream, from 1, gap-free. */
  readonly version: number;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  /** Insertion order across all streams (not commit order; see the feed). */
  readonly globalPosition: number;
  /** Postgres xid8 of the writing transaction, as a decimal string. */
  readonly transactionId: string;
  readonly recordedAt: Date;
  /** Fencing epoch of the partition the writer held, or null when written without fencing. */
  readonly epoch: number | null;
}
