import { deepStrictEqual, fail } from 'node:assert/strict';
import { RatchetError, type Aggregate, type AnyAggregate, type EventUnion } from '@ratchet/core';
import type { z } from 'zod';

/** The domain events of an aggregate, as the aggregate's schemas type them. */
export type EventOf<A extends AnyAggregate> = A extends Aggregate<infer _M, infer _C, infer E> ? EventUnion<E> : never;

/** A command of an aggregate as a spec writes it: its type, and its payload (default `{}`). */
export type SpecCommand<A extends AnyAggregate> =
  A extends Aggregate<infer _M, infer C, infer _E>
    ? { [K in keyof C & string]: { readonly type: K; readonly payload?: z.input<C[K]> } }[keyof C & string]
    : never;

/** A stored event given to a spec: a current event, or an older schema version to upcast. */
export type GivenEvent<A extends AnyAggregate> =
  | EventOf<A>
  | { readonly type: EventOf<A>['type']; readonly data: unknown; readonly schemaVersion: number };

/** What a spec expects: exactly these events, or a rejection (its reason matched when given). */
export type Expectation<A extends AnyAggregate> =
  | readonly EventOf<A>[]
  | { readonly status: 'rejected'; readonly reason?: string | RegExp };

/** The `when` step of a spec. */
export interface WhenStep<A extends AnyAggregate> {
  /** Assert the outcome: the exact events, or a rejection. */
  then(expected: Expectation<A>): void;
  /** Assert that deciding throws a Ratchet error with this code (validation, unknown command…). */
  thenThrows(code: string): void;
}

/** The `given` step of a spec: the history is fixed, the command comes next. */
export interface GivenStep<A extends AnyAggregate> {
  /** Decide this command against the state the given events fold to. */
  when(command: SpecCommand<A>): WhenStep<A>;
}

/**
 * Given/when/then specs for an aggregate (pure: no store, no worker), typed by the aggregate: a
 * command or event name it does not define, or a payload its schema does not accept, does not compile.
 * @example
 * const spec = given(Turnstile);
 * spec([{ type: 'installed', data: {} }])
 *   .when({ type: 'pushArm' })
 *   .then([{ type: 'armPushedIneffectively', data: {} }]);
 * spec([]).when({ type: 'pushArm' }).then({ status: 'rejected', reason: /not installed/ });
 */
export function given<A extends AnyAggregate>(aggregate: A): (events?: readonly GivenEvent<A>[]) => GivenStep<A> {
  return (events = []) => ({
    when(command) {
      const run = () => aggregate.decide({ type: command.type, payload: command.payload ?? {} }, aggregate.replay(events), { id: 'spec' });
      return {
        // biome-ignore lint/suspicious/noThenProperty: the kit's builder is deliberately not awaited; `then` is its documented step. Awaiting a WhenStep does not compile (TS1320: a callable `then` that is not a promise's); from JS it would run the spec with `resolve` as the expectation and never resolve, so only a spec missing its `.then(…)` could meet it.
        then(expected) {
          const decision = run();
          if (Array.isArray(expected)) {
            if (decision.status === 'rejected') fail(`expected events ${JSON.stringify(expected)}, got rejection "${decision.reason}"`);
            deepStrictEqual(decision.events, expected);
            return;
          }
          const rejection = expected as { status: 'rejected'; reason?: string | RegExp };
          if (decision.status === 'accepted') fail(`expected a rejection, got events ${JSON.stringify(decision.events)}`);
          if (typeof rejection.reason === 'string') deepStrictEqual(decision.reason, rejection.reason);
          else if (rejection.reason instanceof RegExp && !rejection.reason.test(decision.reason)) {
            fail(`rejection reason "${decision.reason}" does not match ${rejection.reason}`);
          }
        },
        thenThrows(code) {
          let decision: unknown;
          try {
            decision = run();
          } catch (error) {
            if (!(error instanceof RatchetError)) throw error;
            deepStrictEqual(error.code, code);
            return;
          }
          fail(`expected error ${code}, got ${JSON.stringify(decision)}`);
        },
      };
    },
  });
}
