import pg from 'pg';

/**
 * Run `SELECT 1` against `url` once; resolves when Postgres accepts connections and queries.
 * Rejects with the driver's error otherwise (refused, starting up, auth failed…).
 */
export async function checkPostgres(url: string, timeoutMs = 2_000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // An 'error' event after a failed connect must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}
