const BASE_MS = 0.01;
const GROWTH = 1.04;
const BUCKETS = 420; // 0.01 ms · 1.04^420 ≈ 140 s: past any client deadline
const LOG_GROWTH = Math.log(GROWTH);

/**
 * Latencies in log-spaced buckets (4% wide): fixed memory however long the run, percentiles within
 * 4% of the exact value, and cheap to merge (the per-second windows are merged for a whole run).
 */
export class LatencyHistogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #maxMs = 0;

  /** Samples recorded. */
  get count(): number {
    return this.#count;
  }

  /** The largest sample, in ms (0 when empty). */
  get maxMs(): number {
    return this.#maxMs;
  }

  /** Record one latency in milliseconds. */
  record(ms: number): void {
    const value = Math.max(ms, BASE_MS);
    const index = Math.min(BUCKETS - 1, Math.ceil(Math.log(value / BASE_MS) / LOG_GROWTH));
    this.#counts[index] = (this.#counts[index] ?? 0) + 1;
    this.#count++;
    if (ms > this.#maxMs) this.#maxMs = ms;
  }

  /** Add another histogram's samples to this one. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.#counts[i] = (this.#counts[i] ?? 0) + (other.#counts[i] ?? 0);
    this.#count += other.#count;
    if (other.#maxMs > this.#maxMs) this.#maxMs = other.#maxMs;
  }

  /** The `q` quantile (0..1) in ms, rounded up to its bucket's bound (never above the max); 0 when empty. */
  percentile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank) return Math.min(BASE_MS * GROWTH ** i, this.#maxMs);
    }
    return this.#maxMs;
  }
}
