import type { DomainEvent, EventMetadata, RecordedEvent } from '@ratchet/core';

/** An event as a process's `correlate` and `handle` see it: the domain event and where it was committed. */
export type ProcessEvent<TEvent extends DomainEvent = DomainEvent> = TEvent & {
  /** `<aggregateType>/<aggregateId>`. */
  readonly streamId: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** Position in its stream, from 1. */
  readonly version: number;
  readonly metadata: EventMetadata;
  /** Commit time (Postgres's clock): the same on every run, unlike the handler's clock. */
  readonly recordedAt: Date;
};

/** The process's view of a committed event. */
export function toProcessEvent(event: RecordedEvent): ProcessEvent {
  const slash = event.streamId.indexOf('/');
  return {
    type: event.type,
    data: event.data,
    streamId: event.streamId,
    aggregateType: event.streamId.slice(0, slash),
    aggregateId: event.streamId.slice(slash + 1),
    version: event.version,
    metadata: event.metadata,
    recordedAt: event.recordedAt,
  };
}
