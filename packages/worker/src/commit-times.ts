import type { AppendOutcome } from '@ratchet/event-store-postgres';

/**
 * When this worker's recent transactions committed (performance.now()), so the relay can measure
 * commit → JetStream ack per event (the outbox lag metric). Bounded: the oldest are forgotten.
 */
export class CommitTimes {
  readonly #times = new Map<string, number>();
  readonly #max: number;

  constructor(max = 4_096) {
    this.#max = max;
  }

  /** Note the transaction of a committed batch (one per batch: the first new outcome names it). */
  noteBatch(outcomes: readonly AppendOutcome[]): void {
    for (const o of outcomes) {
      if (!o.ok || o.result.duplicate) continue;
      const transactionId = o.result.events[0]?.transactionId;
      if (transactionId === undefined) continue;
      this.#times.set(transactionId, performance.now());
      if (this.#times.size > this.#max) this.#times.delete(this.#times.keys().next().value as string);
      return;
    }
  }

  /** When `transactionId` committed here, if it did and is still remembered. */
  of(transactionId: string): number | undefined {
    return this.#times.get(transactionId);
  }
}
