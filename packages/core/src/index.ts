export {
  ErrorCode,
  RatchetError,
  ValidationError,
  VersionConflictError,
  FencedError,
  DefinitionError,
  errorFromData,
  isRetryableCode,
} from './errors.js';
export type { RatchetErrorData, RatchetErrorOptions, ValidationIssue } from './errors.js';
export type { DomainEvent, EventMetadata, NewEvent, RecordedEvent } from './events.js';
export { defineAggregate } from './define-aggregate.js';
export type {
  Aggregate,
  AggregateConfig,
  AnyAggregate,
  AggregateState,
  CommandUnion,
  DecideContext,
  Decision,
  EventUnion,
  PersistedState,
  StoredEventInput,
  Upcaster,
} from './define-aggregate.js';
export { reject, isRejection } from './rejection.js';
export type { Rejection } from './rejection.js';
export { deriveMachineVersion } from './machine-version.js';
export { issuesFromZod, parseOrThrow } from './validation.js';
