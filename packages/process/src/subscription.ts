import { DefinitionError, type DomainEvent, type EventUnion } from '@ratchet/core';
import type { z } from 'zod';

/** What a subscription needs of an aggregate definition: its type name and event schemas. */
export interface SubscribedAggregate {
  readonly type: string;
  readonly events: Record<string, z.ZodType>;
}

/**
 * The event types of one aggregate type a process handles. `TEvent` types `handle`'s event when
 * the subscription was made by {@link eventsOf} from the aggregate's definition; a plain object
 * (`{ aggregateType: 'turnstile', events: ['armTurned'] }`) gives untyped events.
 */
export interface Subscription<TEvent extends DomainEvent = DomainEvent> {
  readonly aggregateType: string;
  /** Event types handled; other events of the type only move the process's position. */
  readonly events: ReadonlyArray<TEvent['type']>;
  /** Type-level only: the events this subscription delivers. Never set. */
  readonly __event?: TEvent;
}

/**
 * Subscribe to some events of an aggregate, typed by its definition: a name the aggregate does not
 * define does not compile (and throws, for plain JavaScript callers).
 * @example
 * eventsOf(Turnstile, 'armPushedIneffectively', 'armTurned');
 */
export function eventsOf<A extends SubscribedAggregate, const E extends ReadonlyArray<keyof A['events'] & string>>(
  aggregate: A,
  ...events: E
): Subscription<Extract<EventUnion<A['events']>, { readonly type: E[number] }>> {
  const known = Object.keys(aggregate.events);
  for (const e of events) {
    if (!known.includes(e)) throw new DefinitionError(`eventsOf(${aggregate.type}): "${e}" is not one of its events (${known.join(', ')})`);
  }
  return { aggregateType: aggregate.type, events: [...events] };
}
