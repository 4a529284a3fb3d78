import type { AggregateActor } from './aggregate-actor.js';

/** Options of an {@link ActorCache}. */
export interface ActorCacheOptions {
  /** Most actors kept in memory; the least recently used idle ones are passivated past it. Default 100,000. */
  readonly maxResident?: number;
  /** An actor idle this long (ms) is passivated by `sweep`. Default 300,000 (5 min). */
  readonly idleTimeoutMs?: number;
  /** Called for each passivated actor. */
  readonly onPassivate?: (actor: AggregateActor) => void;
}

/**
 * The resident actors of a worker, in least-recently-used order (a Map keeps insertion order;
 * touching an actor re-inserts it). Busy actors are never passivated.
 */
export class ActorCache {
  readonly #actors = new Map<string, AggregateActor>();
  readonly #max: number;
  readonly #idleMs: number;
  readonly #onPassivate: ActorCacheOptions['onPassivate'];

  constructor(options: ActorCacheOptions = {}) {
    this.#max = options.maxResident ?? 100_000;
    this.#idleMs = options.idleTimeoutMs ?? 300_000;
    this.#onPassivate = options.onPassivate;
  }

  /** Number of resident actors. */
  get size(): number {
    return this.#actors.size;
  }

  /** The actor for a stream, created by `create` when absent; marks it most recently used. */
  get(streamId: string, create: () => AggregateActor): AggregateActor {
    let actor = this.#actors.get(streamId);
    if (actor === undefined) {
      actor = create();
      this.#actors.set(streamId, actor);
      this.#enforceLimit(actor);
    } else {
      this.#actors.delete(streamId);
      this.#actors.set(streamId, actor);
    }
    return actor;
  }

  /** Passivate actors idle longer than the timeout; returns how many. */
  sweep(now = Date.now()): number {
    let n = 0;
    for (const actor of this.#actors.values()) {
      if (!actor.busy && now - actor.lastUsed >= this.#idleMs) {
        this.#remove(actor);
        n += 1;
      }
    }
    return n;
  }

  /** Drop every idle actor matching `predicate` (e.g. of a partition this worker lost); busy ones are unloaded so they reload. */
  dropWhere(predicate: (actor: AggregateActor) => boolean): number {
    let n = 0;
    for (const actor of this.#actors.values()) {
      if (!predicate(actor)) continue;
      actor.state = undefined;
      if (!actor.busy) this.#remove(actor);
      n += 1;
    }
    return n;
  }

  /** Every resident actor (oldest first). */
  values(): IterableIterator<AggregateActor> {
    return this.#actors.values();
  }

  /** Passivate idle actors, oldest first, down to the limit; never `keep` (just created, its job not queued yet). */
  #enforceLimit(keep: AggregateActor): void {
    if (this.#actors.size <= this.#max) return;
    for (const actor of this.#actors.values()) {
      if (this.#actors.size <= this.#max) return;
      if (actor !== keep && !actor.busy) this.#remove(actor);
    }
  }

  #remove(actor: AggregateActor): void {
    this.#actors.delete(actor.streamId);
    this.#onPassivate?.(actor);
  }
}
