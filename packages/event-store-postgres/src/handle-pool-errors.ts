import type pg from 'pg';

/**
 * Make a pool's connections unable to crash the process when their server goes away (a restart, a
 * failover, `pg_ctl stop`: error 57P01 "terminating connection due to administrator command", or
 * ECONNRESET). pg emits an idle client's error on the pool, but a checked-out client's (one inside
 * a transaction, or between the queries of a batch) on the client itself, where Node throws it as
 * "Unhandled 'error' event" when nobody listens. Both get a listener here; the query in progress
 * still fails with the error, and the pool drops the broken client when it is released.
 * @example
 * const pool = new pg.Pool({ connectionString });
 * handlePoolErrors(pool, (err) => log.warn({ err }, 'Postgres connection lost'));
 */
export function handlePoolErrors(pool: pg.Pool, onError: (error: Error) => void = () => undefined): pg.Pool {
  // Every client gets the listener once, when it connects; the pool's own 'error' repeats an idle
  // client's error, already reported by that client's listener.
  pool.on('connect', (client) => client.on('error', onError));
  pool.on('error', () => undefined);
  return pool;
}
