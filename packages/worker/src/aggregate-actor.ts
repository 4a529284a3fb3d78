import type { AggregateState, AnyAggregate } from '@ratchet/core';

/** One queued command for an actor: run it, then settle. */
export type ActorJob = () => Promise<void>;

/**
 * One aggregate instance living in a worker: its XState snapshot and stream version, and a
 * mailbox so it handles one command at a time while other actors proceed in parallel.
 * The state is advanced only by committed events (via the aggregate's pure transition).
 */
export class AggregateActor {
  readonly aggregate: AnyAggregate;
  readonly id: string;
  readonly streamId: string;
  readonly partition: number;
  /** Undefined until loaded, and again after an outcome that leaves the state unknown. */
  state: AggregateState | undefined;
  /** Version of the newest snapshot this actor knows to be stored. */
  snapshotVersion = 0;
  /** When the actor last handled a command (ms since epoch). */
  lastUsed = Date.now();
  readonly #mailbox: ActorJob[] = [];
  #running = false;

  constructor(aggregate: AnyAggregate, id: string, streamId: string, partition: number) {
    this.aggregate = aggregate;
    this.id = id;
    this.streamId = streamId;
    this.partition = partition;
  }

  /** True while a command runs or waits in the mailbox. */
  get busy(): boolean {
    return this.#running || this.#mailbox.length > 0;
  }

  /** Queue a job; jobs run one at a time in arrival order. */
  enqueue(job: ActorJob): void {
    this.#mailbox.push(job);
    if (!this.#running) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      for (let job = this.#mailbox.shift(); job !== undefined; job = this.#mailbox.shift()) {
        this.lastUsed = Date.now();
        // Jobs settle their own errors; a throw here would be a bug, and must not stall the mailbox.
        await job().catch(() => undefined);
      }
    } finally {
      this.#running = false;
      this.lastUsed = Date.now();
    }
  }
}
