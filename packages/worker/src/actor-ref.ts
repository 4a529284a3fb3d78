import type { AggregateState, AnyAggregate } from '@ratchet/core';

/**
 * What the command steps (`handle-command.ts`) and activation (`actor-activation.ts`) need of an
 * actor: which aggregate instance it is, its last committed state and its newest stored snapshot.
 * `AggregateActor` is the one implementation; the steps take this, not the class, so they do not
 * import the actor that calls them.
 */
export interface ActorRef {
  readonly aggregate: AnyAggregate;
  readonly id: string;
  readonly streamId: string;
  readonly partition: number;
  /** Undefined until loaded, and again after an outcome that leaves the state unknown. */
  readonly state: AggregateState | undefined;
  /** Version of the newest snapshot this actor knows to be stored. */
  snapshotVersion: number;
}
