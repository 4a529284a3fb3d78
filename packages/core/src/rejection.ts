/** A business refusal of a command: nothing is written, the reason goes back to the caller. */
export interface Rejection {
  readonly rejected: true;
  readonly reason: string;
}

/** Reject a command with a reason (from `decide`). */
export function reject(reason: string): Rejection {
  return { rejected: true, reason };
}

/** Whether a `decide` result is a rejection. */
export function isRejection(value: unknown): value is Rejection {
  return typeof value === 'object' && value !== null && (value as { rejected?: unknown }).rejected === true;
}
