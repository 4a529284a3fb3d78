import { deepStrictEqual, fail } from 'node:assert/strict';
import { RatchetError, type AnyAggregate, type DomainEvent, type Rejection, type StoredEventInput } from '@ratchet/core';

/** What a spec expects: these events, or a rejection (optionally with its reason). */
export type Expectation = readonly DomainEvent[] | Rejection | { readonly rejected: true; readonly reason?: string | RegExp };

/** The `when` step of a spec. */
export interface WhenStep {
  /** Assert the outcome: the exact events, or a rejection. */
  then(expected: Expectation): void;
  /** Assert that deciding throws a Ratchet error with this code (validation, unknown command…). */
  thenThrows(code: string): void;
}

/** The `given` step of a spec. */
export interface GivenStep {
  /** Decide this command against the state the given events fold to. */
  when(command: { readonly type: string; readonly payload?: unknown }): WhenStep;
}

/**
 * Given/when/then specs for any aggregate (pure: no store, no worker).
 * @example
 * given(Turnstile, [{ type: 'installed', data: {} }])
 *   .when({ type: 'pushArm' })
 *   .then([{ type: 'armPushedIneffectively', data: {} }]);
 */
export function given(aggregate: AnyAggregate, events: readonly StoredEventInput[] = []): GivenStep {
  return {
    when(command) {
      const run = () =>
        aggregate.decide(aggregate.replay(events), { type: command.type, payload: command.payload ?? {} }, 'spec');
      return {
        then(expected) {
          const decision = run();
          if (Array.isArray(expected)) {
            if (!decision.accepted) fail(`expected events ${JSON.stringify(expected)}, got rejection "${decision.reason}"`);
            deepStrictEqual(decision.events, expected);
            return;
          }
          const rejection = expected as { rejected: true; reason?: string | RegExp };
          if (decision.accepted) fail(`expected a rejection, got events ${JSON.stringify(decision.events)}`);
          if (typeof rejection.reason === 'string') deepStrictEqual(decision.reason, rejection.reason);
          else if (rejection.reason instanceof RegExp && !rejection.reason.test(decision.reason)) {
            fail(`rejection reason "${decision.reason}" does not match ${rejection.reason}`);
          }
        },
        thenThrows(code) {
          try {
            const decision = run();
            fail(`expected error ${code}, got ${JSON.stringify(decision)}`);
          } catch (error) {
            if (!(error instanceof RatchetError)) throw error;
            deepStrictEqual(error.code, code);
          }
        },
      };
    },
  };
}
