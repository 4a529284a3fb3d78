import { createPostgresEventStore, parseMasterKey, type PostgresEventStore } from '@ratchet/event-store-postgres';
import type pg from 'pg';
import { usageError } from './cli-error.js';
import type { CliContext } from './cli-context.js';

/**
 * The event store over the CLI's pool, with the master key from `$RATCHET_MASTER_KEY` (the one the
 * workers have) so sealed sensitive values are opened — or shown as their placeholder once
 * forgotten (docs/sensitive-data.md). A malformed key is a usage error, never echoed.
 */
export function cliStore(ctx: CliContext, pool: pg.Pool): PostgresEventStore {
  const text = ctx.env.RATCHET_MASTER_KEY;
  if (text === undefined || text === '') return createPostgresEventStore({ pool });
  try {
    return createPostgresEventStore({ pool, masterKey: parseMasterKey(text) });
  } catch (error) {
    throw usageError('$RATCHET_MASTER_KEY must be 32 bytes as base64 (44 characters) or hex (64)', { cause: error });
  }
}
