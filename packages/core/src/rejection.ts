/**
 * A business refusal of a command: nothing is written, the reason goes back to the caller. The same
 * shape everywhere: what `decide` returns, a `Decision`, and the wire reply (`status: 'rejected'`).
 */
export interface Rejection {
  readonly status: 'rejected';
  readonly reason: string;
}

/** Reject a command with a reason (from `decide`). */
export function reject(reason: string): Rejection {
  return { status: 'rejected', reason };
}

/** Whether a `decide` result is a rejection. */
export function isRejection(value: unknown): value is Rejection {
  return typeof value === 'object' && value !== null && (value as { status?: unknown }).status === 'rejected';
}
