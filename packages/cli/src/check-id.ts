import { RatchetError } from '@ratchet/core';
import { validateAggregateId } from '@ratchet/transport-nats';
import { usageError } from './cli-error.js';

/** Validate an aggregate id the way the workers do, as a usage error. */
export function checkId(id: string): void {
  try {
    validateAggregateId(id);
  } catch (error) {
    if (error instanceof RatchetError) throw usageError(`bad id: ${error.message}`, { cause: error });
    throw error;
  }
}
