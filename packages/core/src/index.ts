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
  AggregateRuntime,
  AnyAggregate,
  AggregateState,
  CommandUnion,
  DecideContext,
  Decision,
  EventUnion,
  ParsedCommand,
  PersistedState,
  StoredEventInput,
} from './aggregate.js';
export type { AggregateConfig, Upcaster } from './aggregate-config.js';
export { reject, isRejection } from './rejection.js';
export { schedule, unschedule, isScheduledCommand, isUnschedule, NO_TIMERS } from './timers.js';
export type { ScheduledCommand, TimerEffects, TimerStart, Unschedule } from './timers.js';
export type { Rejection } from './rejection.js';
export { deriveMachineVersion } from './machine-version.js';
export { FORGOTTEN, isForgotten, sensitive, sensitiveMarkOf } from './sensitive.js';
export type { SensitiveMark, SensitiveOptions, SubjectContext, SubjectOf } from './sensitive.js';
export { hasSensitiveFields, sensitiveFieldsOf } from './sensitive-fields.js';
export type { SensitiveField, SensitivePathStep } from './sensitive-fields.js';
export { issuesFromZod, parseOrThrow } from './validation.js';
export { requireEntry, requireItem } from './require.js';
