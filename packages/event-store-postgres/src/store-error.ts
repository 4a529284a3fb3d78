import { ErrorCode, RatchetError } from '@ratchet/core';

/** Node socket errors that mean "Postgres is not reachable right now". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** SQLSTATEs (besides class 08, connection exception) where a retry against a recovered server can help. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53400']);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether a Postgres error is a deadlock or serialization failure, after which the whole transaction may be retried. */
export function isTransientConflict(err: unknown): boolean {
  const code = codeOf(err);
  return code === '40P01' || code === '40001';
}

/** Whether an error means the connection to Postgres failed (server down, restarting, unreachable). */
export function isConnectionError(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08'))) return true;
  const message = err instanceof Error ? err.message : '';
  // pg reports a dropped socket or a pool connect timeout without a code.
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}

/** Wrap any failure of a store call as a {@link RatchetError}: STORE_UNAVAILABLE (retryable) for outages, INTERNAL otherwise. */
export function toStoreError(err: unknown, operation: string): RatchetError {
  if (err instanceof RatchetError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isConnectionError(err)) {
    return new RatchetError(ErrorCode.STORE_UNAVAILABLE, `${operation}: Postgres unavailable: ${message}`, {
      cause: err,
      details: { operation, ...(codeOf(err) === undefined ? {} : { pgCode: codeOf(err) }) },
    });
  }
  return new RatchetError(ErrorCode.INTERNAL, `${operation} failed: ${message}`, {
    cause: err,
    details: { operation, ...(codeOf(err) === undefined ? {} : { pgCode: codeOf(err) }) },
  });
}
