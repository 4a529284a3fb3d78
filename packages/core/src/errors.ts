/**
 * The one error model of Ratchet. Every error that crosses a package or process boundary is a
 * {@link RatchetError} with a stable string `code` and a `retryable` flag, so a caller (or a client
 * in another language, see docs/protocol.md) can decide what to do without parsing messages.
 */

/** Stable error codes. Never renamed; new ones are only added. */
export const ErrorCode = {
  /** A command, event or store input failed its schema; `details.issues` lists every issue. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** The aggregate type is not served here. */
  UNKNOWN_AGGREGATE: 'UNKNOWN_AGGREGATE',
  /** The aggregate has no command of that type. */
  UNKNOWN_COMMAND: 'UNKNOWN_COMMAND',
  /** An event type the aggregate does not define (in the store or produced by `decide`). */
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
  /** A programming error in an aggregate definition (e.g. `decide` produced an event that fails its own schema). */
  DEFINITION_ERROR: 'DEFINITION_ERROR',
  /** The stream's version is not the expected one. */
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  /** The command id was already used with a different command. */
  COMMAND_ID_REUSED: 'COMMAND_ID_REUSED',
  /** The writer's fencing epoch for the partition is stale: another worker owns it now. */
  FENCED: 'FENCED',
  /** The message was not valid JSON or not a command envelope. */
  MALFORMED_REQUEST: 'MALFORMED_REQUEST',
  /** The message is larger than the configured limit. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The aggregate id is empty, too long, or not subject-safe. */
  INVALID_ID: 'INVALID_ID',
  /** The request was routed to a partition that does not hold the aggregate id. */
  WRONG_PARTITION: 'WRONG_PARTITION',
  /** The worker's queue is full; retry later. */
  OVERLOADED: 'OVERLOADED',
  /** The worker is shutting down or handing the partition over; retry. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** No answer within the deadline; the outcome is unknown. */
  TIMEOUT: 'TIMEOUT',
  /** A dependency (Postgres, NATS) failed in a way a retry may fix. */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  /** An unexpected failure inside Ratchet. */
  INTERNAL: 'INTERNAL',
  /** The client could not decode the worker's reply (not JSON, or not a reply shape); the outcome is unknown. */
  MALFORMED_REPLY: 'MALFORMED_REPLY',
  /** An event message on the events stream could not be decoded (never sent in a reply; a projector terminates the message). */
  MALFORMED_EVENT: 'MALFORMED_EVENT',
  /** An app module could not be loaded: missing, failed on import, or its default export is not a valid app (`details.file`, `details.reason`). */
  APP_LOAD_FAILED: 'APP_LOAD_FAILED',
  /** Time travel: the version or time asked for is outside the stream's history (`details`: streamId, the target, the stream's first and last). */
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  /**
   * A sealed sensitive value could not be opened: its subject's key is missing without a recorded
   * forget, was wrapped by another master key, or does not open it (`details.reason`, `details.subject`).
   * A forgotten subject is not an error: its values read as their placeholder.
   */
  SENSITIVE_DATA_UNREADABLE: 'SENSITIVE_DATA_UNREADABLE',
} as const;

/** One of the stable {@link ErrorCode} strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes for which a retry (with the same command id) can help. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.OVERLOADED,
  ErrorCode.UNAVAILABLE,
  ErrorCode.TIMEOUT,
  ErrorCode.STORE_UNAVAILABLE,
  ErrorCode.FENCED,
]);

/** Whether a retry can help for this code. */
export function isRetryableCode(code: ErrorCode): boolean {
  return RETRYABLE.has(code);
}

/** One validation problem: where (a path into the input) and what. */
export interface ValidationIssue {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/** Options accepted by every Ratchet error. */
export interface RatchetErrorOptions extends ErrorOptions {
  /** Machine-readable extras (stream, versions, issues…); must be JSON-serialisable. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Override the retryable flag derived from the code. */
  readonly retryable?: boolean;
}

/** Base class of every error Ratchet raises or replies with. */
export class RatchetError extends Error {
  override readonly name: string = 'RatchetError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: RatchetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? isRetryableCode(code);
    this.details = options.details ?? {};
  }

  /** The wire form: code, message, retryable, details. */
  toJSON(): RatchetErrorData {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

/** The JSON shape of an error on the wire. */
export interface RatchetErrorData {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryable: boolean;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Input failed a schema; `issues` lists every problem, not just the first. */
export class ValidationError extends RatchetError {
  override readonly name = 'ValidationError';
  readonly issues: readonly ValidationIssue[];
  constructor(message: string, issues: readonly ValidationIssue[], options: ErrorOptions = {}) {
    super(ErrorCode.VALIDATION_FAILED, message, { ...options, details: { issues } });
    this.issues = issues;
  }
}

/** The stream was not at the expected version. */
export class VersionConflictError extends RatchetError {
  override readonly name = 'VersionConflictError';
  readonly streamId: string;
  readonly expectedVersion: number;
  readonly actualVersion: number;
  constructor(streamId: string, expectedVersion: number, actualVersion: number, options: ErrorOptions = {}) {
    super(ErrorCode.VERSION_CONFLICT, `stream ${streamId} is at version ${actualVersion}, expected ${expectedVersion}`, {
      ...options,
      details: { streamId, expectedVersion, actualVersion },
    });
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** The writer's fencing epoch is stale: the partition has a newer owner. */
export class FencedError extends RatchetError {
  override readonly name = 'FencedError';
  readonly partition: number;
  readonly heldEpoch: number;
  readonly currentEpoch: number;
  constructor(partition: number, heldEpoch: number, currentEpoch: number, options: ErrorOptions = {}) {
    super(ErrorCode.FENCED, `partition ${partition} is at epoch ${currentEpoch}; this writer holds ${heldEpoch}`, {
      ...options,
      details: { partition, heldEpoch, currentEpoch },
    });
    this.partition = partition;
    this.heldEpoch = heldEpoch;
    this.currentEpoch = currentEpoch;
  }
}

/** An aggregate definition is wrong (a bug in user code, never a business rejection). */
export class DefinitionError extends RatchetError {
  override readonly name = 'DefinitionError';
  constructor(message: string, options: RatchetErrorOptions = {}) {
    super(ErrorCode.DEFINITION_ERROR, message, options);
  }
}

/** Rebuild a typed error from its wire form, keeping the subclass where one exists. */
export function errorFromData(data: RatchetErrorData): RatchetError {
  const d = data.details ?? {};
  switch (data.code) {
    case ErrorCode.VERSION_CONFLICT:
      if (typeof d.streamId === 'string' && typeof d.expectedVersion === 'number' && typeof d.actualVersion === 'number') {
        return new VersionConflictError(d.streamId, d.expectedVersion, d.actualVersion);
      }
      break;
    case ErrorCode.FENCED:
      if (typeof d.partition === 'number' && typeof d.heldEpoch === 'number' && typeof d.currentEpoch === 'number') {
        return new FencedError(d.partition, d.heldEpoch, d.currentEpoch);
      }
      break;
    case ErrorCode.VALIDATION_FAILED:
      if (Array.isArray(d.issues)) return new ValidationError(data.message, d.issues as ValidationIssue[]);
      break;
    default:
      break;
  }
  return new RatchetError(data.code, data.message, { retryable: data.retryable, details: d });
}
