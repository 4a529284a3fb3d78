import type { AggregateRef } from '@ratchet/client';
import { Turnstile } from '@ratchet/turnstile';
import { usageError } from './cli-error.js';

/**
 * The aggregates this deployment serves (the worker service's list). The CLI checks names against
 * it so that a typo fails at once with the known names instead of timing out on a subject nobody serves.
 */
export const AGGREGATES: Readonly<Record<string, AggregateRef>> = { [Turnstile.type]: Turnstile };

/** The aggregate of that type, or a usage error naming the known ones. */
export function aggregateNamed(type: string): AggregateRef {
  const aggregate = Object.hasOwn(AGGREGATES, type) ? AGGREGATES[type] : undefined;
  if (aggregate === undefined) {
    throw usageError(`unknown aggregate "${type}" (known: ${Object.keys(AGGREGATES).join(', ')})`);
  }
  return aggregate;
}
