import type pg from 'pg';
import { statementName } from './statement-name.js';
import { toStoreError } from './store-error.js';

/** Run one named (prepared) statement on the pool; errors become the store's typed errors, naming `operation`. */
export type StoreQuery = <R extends pg.QueryResultRow>(operation: string, text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/** The store's query function over a pool. */
export function storeQuery(pool: pg.Pool): StoreQuery {
  return async (operation, text, values) => {
    try {
      // Named, so each pooled connection parses and plans the statement once (prepared statement).
      return await pool.query({ name: statementName(text), text, values });
    } catch (err) {
      throw toStoreError(err, operation);
    }
  };
}
