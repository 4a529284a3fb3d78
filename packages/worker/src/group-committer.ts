import { ErrorCode, RatchetError } from '@ratchet/core';
import type { AppendOutcome, AppendRequest } from '@ratchet/event-store-postgres';

/** The part of the store the committer needs. */
export interface BatchAppender {
  appendBatch(requests: readonly AppendRequest[]): Promise<AppendOutcome[]>;
}

/** Options of a {@link GroupCommitter}. */
export interface GroupCommitterOptions {
  /** How long the first request of a batch may wait for company, in ms; 0 = the current event-loop turn. Default 0. */
  readonly windowMs?: number;
  /** Most requests in one transaction. Default 256. */
  readonly maxBatchSize?: number;
  /** Most transactions in flight at once; requests queue while they run. Default 2. */
  readonly maxConcurrentBatches?: number;
  /** Called with each committed batch's size and duration (for metrics). */
  readonly onBatch?: (size: number, seconds: number) => void;
  /** Called after every batch's transaction has committed, before any caller sees its outcome. */
  readonly afterCommit?: (requests: readonly AppendRequest[], outcomes: readonly AppendOutcome[]) => void;
}

interface Pending {
  readonly request: AppendRequest;
  readonly resolve: (outcome: AppendOutcome) => void;
}

/**
 * Group commit: appends submitted by many actors are written in one transaction. A batch is
 * flushed when it is full, when the window closes, or when a running transaction finishes with
 * requests waiting, so batches grow with load and a lone request never waits for a timer (with
 * the default window). Each request gets its own outcome: one stream's conflict fails only it.
 */
export class GroupCommitter {
  readonly #store: BatchAppender;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  readonly #maxConcurrent: number;
  readonly #onBatch: GroupCommitterOptions['onBatch'];
  readonly #afterCommit: GroupCommitterOptions['afterCommit'];
  #queue: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;
  #idleWaiters: Array<() => void> = [];

  constructor(store: BatchAppender, options: GroupCommitterOptions = {}) {
    this.#store = store;
    this.#windowMs = options.windowMs ?? 0;
    this.#maxBatch = options.maxBatchSize ?? 256;
    this.#maxConcurrent = options.maxConcurrentBatches ?? 2;
    this.#onBatch = options.onBatch;
    this.#afterCommit = options.afterCommit;
  }

  /** Requests waiting for a transaction. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Submit one append; resolves after its batch commits (or fails). Never rejects. */
  submit(request: AppendRequest): Promise<AppendOutcome> {
    return new Promise((resolve) => {
      this.#queue.push({ request, resolve });
      if (this.#queue.length >= this.#maxBatch) this.#flush();
      else this.#schedule();
    });
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const fire = (): void => {
      this.#scheduled = false;
      this.#flush();
    };
    if (this.#windowMs <= 0) setImmediate(fire);
    else setTimeout(fire, this.#windowMs);
  }

  #flush(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#maxConcurrent) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight += 1;
      void this.#commit(batch);
    }
  }

  async #commit(batch: Pending[]): Promise<void> {
    const started = process.hrtime.bigint();
    const requests = batch.map((p) => p.request);
    let outcomes: AppendOutcome[];
    try {
      outcomes = await this.#store.appendBatch(requests);
      if (outcomes.length !== batch.length) {
        throw new RatchetError(ErrorCode.INTERNAL, `store returned ${outcomes.length} outcomes for ${batch.length} requests`);
      }
      this.#onBatch?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
      this.#afterCommit?.(requests, outcomes);
    } catch (cause) {
      const error =
        cause instanceof RatchetError
          ? cause
          : new RatchetError(ErrorCode.STORE_UNAVAILABLE, 'group commit failed; the outcome is unknown', { cause });
      outcomes = batch.map(() => ({ ok: false as const, error }));
    }
    this.#inFlight -= 1;
    batch.forEach((p, i) => {
      p.resolve(outcomes[i] as AppendOutcome);
    });
    if (this.#queue.length > 0) this.#flush();
    else if (this.#inFlight === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
