/** Free-form string metadata carried with a command into its events. */
export interface CommandMetadata {
  /** Ties together everything caused by one user action. */
  readonly correlationId?: string;
  /** The message that directly caused this command. */
  readonly causationId?: string;
  readonly [key: string]: string | undefined;
}

/** The body of a command request; the aggregate type comes from the subject, not the body. */
export interface CommandRequest {
  /** Aggregate instance id (see `validateAggregateId`). */
  readonly id: string;
  /** Command type and payload (any JSON; `{}` when absent on the wire). */
  readonly command: { readonly type: string; readonly payload: unknown };
  /** Idempotency key: the same id on every retry of one logical command. */
  readonly commandId: string;
  /** Reject with VERSION_CONFLICT unless the stream is at this version. */
  readonly expectedVersion?: number;
  readonly metadata?: CommandMetadata;
}

/** Command ids: 1 to 128 of `A-Z a-z 0-9 _ : . -` (a UUID fits). */
export const COMMAND_ID_PATTERN = /^[A-Za-z0-9_:.-]{1,128}$/;

/** Longest command type accepted, in characters. */
export const MAX_COMMAND_TYPE_LENGTH = 128;

/** Default request size limit in bytes (64 KiB). */
export const MAX_REQUEST_BYTES = 65_536;

const utf8 = new TextEncoder();

/** Serialise a request as UTF-8 JSON, the way every client must send it. */
export function encodeCommandRequest(request: CommandRequest): Uint8Array {
  return utf8.encode(JSON.stringify(request));
}
