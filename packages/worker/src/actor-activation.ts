import { hasSensitiveFields, type AggregateState, type PersistedState } from '@ratchet/core';
import type { PostgresEventStore } from '@ratchet/event-store-postgres';
import type { Logger } from 'pino';
import type { ActorRef } from './actor-ref.js';
import { PassivatedCache } from './passivated-cache.js';
import type { WorkerMetrics } from './worker-metrics.js';

/** The store reads and writes activation needs. */
export type ActivationStore = Pick<PostgresEventStore, 'readStream' | 'loadSnapshot' | 'saveSnapshot'>;

/** Options of {@link ActorActivation}. */
export interface ActorActivationOptions {
  readonly store: ActivationStore;
  /** Most passivated actors kept in their persisted form; 0 disables the tier. Default 1,000,000. */
  readonly maxPassivated?: number;
  /** Save a snapshot every this many events per aggregate. Default 100. */
  readonly snapshotEvery?: number;
  /** Whether the worker serves `partition` now (only those actors are kept when passivated). */
  readonly serves: (partition: number) => boolean;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
}

/** Activation counters for the worker's stats. */
export interface ActivationStats {
  /** Actors loaded from the store (snapshot and/or events). */
  readonly activations: number;
  readonly snapshotActivations: number;
  /** Actors reactivated from the passivated tier (its state, then the tail read from the store). */
  readonly passivatedActivations: number;
  readonly passivations: number;
}

/**
 * Where an actor's state comes from and goes to, outside a command: activation (the passivated
 * tier's compact state plus the events since, or the snapshot plus the tail, or a full replay),
 * passivation into the tier, and snapshots every `snapshotEvery` events. A loaded state is the
 * store's state at the moment it was read.
 */
export class ActorActivation {
  readonly #store: ActivationStore;
  readonly #passivated: PassivatedCache;
  readonly #snapshotEvery: number;
  readonly #serves: (partition: number) => boolean;
  readonly #metrics: WorkerMetrics;
  readonly #log: Logger;
  #purging = false;
  #activations = 0;
  #snapshotActivations = 0;
  #passivatedActivations = 0;
  #passivations = 0;

  constructor(options: ActorActivationOptions) {
    this.#store = options.store;
    this.#passivated = new PassivatedCache({ maxEntries: options.maxPassivated });
    this.#snapshotEvery = options.snapshotEvery ?? 100;
    this.#serves = options.serves;
    this.#metrics = options.metrics;
    this.#log = options.logger;
  }

  /** Passivated actors kept in their persisted form. */
  get passivatedCount(): number {
    return this.#passivated.size;
  }

  stats(): ActivationStats {
    return {
      activations: this.#activations,
      snapshotActivations: this.#snapshotActivations,
      passivatedActivations: this.#passivatedActivations,
      passivations: this.#passivations,
    };
  }

  /** The actor's state as the store holds it now: from the passivated tier or a snapshot, plus the tail. */
  async load(actor: ActorRef): Promise<AggregateState> {
    const { aggregate, streamId } = actor;
    const passivated = this.#passivated.take(streamId);
    if (passivated !== undefined) {
      let from: AggregateState | undefined;
      try {
        from = aggregate.runtime.restore(passivated.state, passivated.version);
      } catch (error) {
        this.#log.warn({ err: error, streamId }, 'passivated state not restored; loading from the store');
      }
      if (from !== undefined) {
        // Only what was appended since (by this worker or, after a handover, another one).
        const tail = await this.#store.readStream(streamId, { fromVersion: passivated.version + 1 });
        actor.snapshotVersion = passivated.snapshotVersion;
        this.#passivatedActivations += 1;
        this.#metrics.passivatedActivations.inc();
        return aggregate.replay(tail, from);
      }
    }
    const snapshot = await this.#store.loadSnapshot(streamId, aggregate.machineVersion);
    const from =
      snapshot === null ? aggregate.initialState() : aggregate.runtime.restore(snapshot.state as PersistedState, snapshot.version);
    const tail = await this.#store.readStream(streamId, { fromVersion: from.version + 1 });
    actor.snapshotVersion = snapshot?.version ?? 0;
    this.#activations += 1;
    if (snapshot !== null) this.#snapshotActivations += 1;
    this.#metrics.activations.inc({ snapshot: snapshot === null ? 'no' : 'yes' });
    return aggregate.replay(tail, from);
  }

  /**
   * An actor left memory: keep its persisted form so it can come back without a snapshot load. Only
   * a known, committed state of a partition served here now; the tail read on reactivation brings it
   * up to date (events are append-only), and the append's expected version guards the rest.
   */
  passivated(actor: ActorRef): void {
    this.#passivations += 1;
    this.#metrics.passivations.inc();
    const state = actor.state;
    if (state === undefined || state.version === 0 || !this.#passivated.enabled || !this.#serves(actor.partition)) return;
    // Opened sensitive values are not kept in memory past the actor: a forget could not reach them there.
    if (hasSensitiveFields(actor.aggregate)) return;
    try {
      this.#passivated.put(actor.streamId, actor.partition, {
        version: state.version,
        snapshotVersion: actor.snapshotVersion,
        state: actor.aggregate.runtime.persist(state),
      });
    } catch (error) {
      this.#log.warn({ err: error, streamId: actor.streamId }, 'passivated actor not kept');
    }
  }

  /** Save a snapshot in the background when `snapshotEvery` events have passed since the last. */
  snapshotIfDue(actor: ActorRef, state: AggregateState): void {
    if (state.version - actor.snapshotVersion < this.#snapshotEvery) return;
    actor.snapshotVersion = state.version;
    this.#store
      .saveSnapshot({
        streamId: actor.streamId,
        version: state.version,
        machineVersion: actor.aggregate.machineVersion,
        state: actor.aggregate.runtime.persist(state),
      })
      .catch((error: unknown) => this.#log.warn({ err: error, streamId: actor.streamId }, 'snapshot not saved'));
  }

  /** Forget the passivated actors of a partition this worker no longer serves. */
  dropPartition(partition: number): void {
    // O(1): the entries are unusable at once; their memory is freed in the background.
    if (this.#passivated.dropPartition(partition) > 0) this.#purgeSoon();
  }

  /** Free invalidated entries a slice per event-loop turn, so a million of them never stall commands. */
  #purgeSoon(): void {
    if (this.#purging) return;
    this.#purging = true;
    const slice = (): void => {
      if (this.#passivated.purge(20_000)) this.#purging = false;
      else setImmediate(slice).unref();
    };
    setImmediate(slice).unref();
  }
}
