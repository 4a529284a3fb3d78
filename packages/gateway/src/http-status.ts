import { ErrorCode } from '@ratchet/core';
import type { GatewayResult } from './gateway-result.js';

/**
 * The one table from results to HTTP statuses. The status is a hint for HTTP machinery (proxies,
 * retry middleware, dashboards); the body's `status` and `error.code` are the answer. Why each:
 * docs/gateway.md, "Statuses".
 */
export const HTTP_STATUS = {
  /** Committed, or a duplicate of a committed command: a retry gets the first answer, status included. */
  ok: 200,
  /** Committed, but the projection named in `waitFor` had not caught up by the deadline. */
  okNotWaited: 202,
  /** Refused by a business rule against the aggregate's current state (RFC 9110: a conflict with the resource's state). */
  rejected: 409,
  /** By error code. */
  errors: {
    VALIDATION_FAILED: 400,
    UNKNOWN_AGGREGATE: 404,
    UNKNOWN_COMMAND: 400,
    UNKNOWN_EVENT: 500,
    DEFINITION_ERROR: 500,
    VERSION_CONFLICT: 409,
    // The Idempotency-Key draft (draft-ietf-httpapi-idempotency-key-header): a key reused with another payload is 422.
    COMMAND_ID_REUSED: 422,
    FENCED: 503,
    MALFORMED_REQUEST: 400,
    PAYLOAD_TOO_LARGE: 413,
    INVALID_ID: 400,
    WRONG_PARTITION: 500,
    OVERLOADED: 503,
    UNAVAILABLE: 503,
    TIMEOUT: 504,
    STORE_UNAVAILABLE: 503,
    INTERNAL: 500,
    MALFORMED_REPLY: 502,
    MALFORMED_EVENT: 500,
    APP_LOAD_FAILED: 500,
    // Time travel's range error: never a command's answer, but a reader's (the dashboard's API) 404.
    OUT_OF_RANGE: 404,
    // A worker could not open a stored sensitive value (a key missing without a forget, the wrong master key).
    SENSITIVE_DATA_UNREADABLE: 500,
    // Exhaustive on purpose: a new ErrorCode does not compile until it is given a status here.
  } satisfies Record<ErrorCode, number>,
  /** MALFORMED_REQUEST refined by `details.reason`: what is wrong with the HTTP request rather than the command. */
  malformedRequest: {
    'no-route': 404,
    'method-not-allowed': 405,
    'body-timeout': 408,
    'unsupported-media-type': 415,
  },
  /** A code this gateway does not know (from a newer worker), by its retryable flag. */
  unknownRetryable: 503,
  unknownFinal: 500,
} as const;

/** Why a request is a MALFORMED_REQUEST with its own status. */
export type MalformedRequestReason = keyof typeof HTTP_STATUS.malformedRequest;

const has = <T extends object>(table: T, key: PropertyKey): key is keyof T => Object.hasOwn(table, key);

/** The HTTP status of a result, from {@link HTTP_STATUS}. */
export function httpStatusOf(result: GatewayResult): number {
  switch (result.status) {
    case 'ok':
      return result.waited === false ? HTTP_STATUS.okNotWaited : HTTP_STATUS.ok;
    case 'rejected':
      return HTTP_STATUS.rejected;
    case 'error': {
      const { code, details, retryable } = result.error;
      const reason = details?.reason;
      if (code === ErrorCode.MALFORMED_REQUEST && typeof reason === 'string' && has(HTTP_STATUS.malformedRequest, reason)) {
        return HTTP_STATUS.malformedRequest[reason];
      }
      if (has(HTTP_STATUS.errors, code)) return HTTP_STATUS.errors[code];
      return retryable ? HTTP_STATUS.unknownRetryable : HTTP_STATUS.unknownFinal;
    }
  }
}

/** The Retry-After header's value in seconds, for a 503 that a retry can fix; undefined otherwise. */
export function retryAfterOf(result: GatewayResult, status: number, seconds: number): number | undefined {
  return status === 503 && result.status === 'error' && result.error.retryable ? seconds : undefined;
}
