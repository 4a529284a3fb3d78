import { ErrorCode, RatchetError, type RatchetErrorData } from '@ratchet/core';

/** One committed event as a reply reports it. */
export interface ReplyEvent {
  /** Position in the aggregate's stream, from 1. */
  readonly version: number;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
}

/** The command was accepted (or was a retry of an accepted command: `duplicate`). */
export interface OkReply {
  readonly status: 'ok';
  /** Stream version after the command's events. */
  readonly version: number;
  readonly events: readonly ReplyEvent[];
  /** True when this command id had already been committed; nothing new was written. */
  readonly duplicate: boolean;
}

/** The aggregate refused the command by a business rule; nothing was written. */
export interface RejectedReply {
  readonly status: 'rejected';
  readonly reason: string;
  /** Stream version the decision was made against. */
  readonly version: number;
}

/** The command could not be handled; `error.retryable` says whether a retry can help. */
export interface ErrorReply {
  readonly status: 'error';
  readonly error: RatchetErrorData;
}

/** Every reply a worker sends to a command request. */
export type CommandReply = OkReply | RejectedReply | ErrorReply;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Serialise a reply as UTF-8 JSON. */
export function encodeReply(reply: CommandReply): Uint8Array {
  return utf8.encode(JSON.stringify(reply));
}

/** The error reply for anything thrown while handling a command; non-Ratchet errors become INTERNAL without their message or stack. */
export function errorReply(err: unknown): ErrorReply {
  if (err instanceof RatchetError) {
    const { code, message, retryable, details } = err;
    return { status: 'error', error: { code, message, retryable, ...(Object.keys(details).length > 0 ? { details } : {}) } };
  }
  return { status: 'error', error: { code: ErrorCode.INTERNAL, message: 'internal error', retryable: false } };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isVersion = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function malformed(why: string): ErrorReply {
  return { status: 'error', error: { code: ErrorCode.MALFORMED_REPLY, message: `reply could not be decoded: ${why}`, retryable: false } };
}

/** Decode a reply; anything that is not a reply becomes an error reply with MALFORMED_REPLY (never throws). */
export function decodeReply(data: Uint8Array): CommandReply {
  let v: unknown;
  try {
    v = JSON.parse(strictUtf8.decode(data));
  } catch {
    return malformed('not UTF-8 JSON');
  }
  if (!isObject(v)) return malformed('not an object');
  switch (v.status) {
    case 'ok': {
      const events = v.events;
      if (!isVersion(v.version) || typeof v.duplicate !== 'boolean' || !Array.isArray(events)) return malformed('bad ok reply');
      const ok = events.every(
        (e) => isObject(e) && isVersion(e.version) && typeof e.type === 'string' && isVersion(e.schemaVersion) && 'data' in e,
      );
      if (!ok) return malformed('bad event in ok reply');
      return {
        status: 'ok',
        version: v.version,
        duplicate: v.duplicate,
        events: events.map((e: Record<string, unknown>) => ({
          version: e.version as number,
          type: e.type as string,
          schemaVersion: e.schemaVersion as number,
          data: e.data,
        })),
      };
    }
    case 'rejected':
      if (typeof v.reason !== 'string' || !isVersion(v.version)) return malformed('bad rejected reply');
      return { status: 'rejected', reason: v.reason, version: v.version };
    case 'error': {
      const e = v.error;
      if (!isObject(e) || typeof e.code !== 'string' || typeof e.message !== 'string' || typeof e.retryable !== 'boolean') {
        return malformed('bad error reply');
      }
      if (e.details !== undefined && !isObject(e.details)) return malformed('bad error details');
      // An unknown code (from a newer worker) is passed through; the retryable flag still guides the caller.
      const error: RatchetErrorData = {
        code: e.code as ErrorCode,
        message: e.message,
        retryable: e.retryable,
        ...(e.details === undefined ? {} : { details: e.details }),
      };
      return { status: 'error', error };
    }
    default:
      return malformed('unknown status');
  }
}
