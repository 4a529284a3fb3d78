import type { App } from '@ratchet/app';
import type { AnyAggregate } from '@ratchet/core';
import { usageError } from './cli-error.js';

/**
 * The app's aggregate of that type, or a usage error naming the ones it has: a typo fails at once
 * instead of timing out on a subject nobody serves.
 */
export function aggregateNamed(app: App, type: string): AnyAggregate {
  const aggregate = app.aggregates.find((a) => a.type === type);
  if (aggregate === undefined) {
    throw usageError(`unknown aggregate "${type}" (app ${app.name} has: ${app.aggregates.map((a) => a.type).join(', ')})`);
  }
  return aggregate;
}

/** The command types of an aggregate, in definition order. */
export function commandTypesOf(aggregate: AnyAggregate): string[] {
  return Object.keys(aggregate.commands as object);
}
