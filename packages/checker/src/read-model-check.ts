import type { PostgresEventStore } from '@ratchet/event-store-postgres';
import type pg from 'pg';

/** What a read-model check found: how many rows or aggregates it compared and what differed. */
export interface ReadModelResult {
  readonly checked: number;
  readonly mismatches: readonly string[];
}

/**
 * A pluggable C7 check: compare a read model with the fold of the event store. It gets the store
 * (to read and replay streams) and a pool on the same database (to read the read model). A check
 * of aggregates with sensitive fields folds `await store.cipher.openEvents(events)`, as the
 * projector does (docs/sensitive-data.md): sealed values opened, placeholders once forgotten.
 */
export type ReadModelCheck = (store: PostgresEventStore, pool: pg.Pool) => Promise<ReadModelResult>;
