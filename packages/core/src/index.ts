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
