/** Exponential backoff bounds. */
export interface BackoffOptions {
  /** Ceiling of the first delay in milliseconds; default 25. */
  readonly initialMs?: number;
  /** Largest ceiling in milliseconds; default 500. */
  readonly maxMs?: number;
}

/**
 * Delay before the retry that follows attempt number `attempt` (1-based): "full jitter", a uniform
 * random value in [0, min(maxMs, initialMs · 2^(attempt-1))), so clients retrying together spread out.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initialMs = options.initialMs ?? 25;
  const maxMs = options.maxMs ?? 500;
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
