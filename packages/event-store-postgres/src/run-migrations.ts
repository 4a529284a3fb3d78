import type pg from 'pg';
import { MIGRATIONS } from './migrations/all-migrations.js';

/** What `migrate()` did. */
export interface MigrationReport {
  /** Versions applied by this call (empty when the schema was already current). */
  readonly applied: readonly number[];
  /** The schema's version after the call. */
  readonly version: number;
}

/**
 * Apply every pending migration in one transaction under a transaction-scoped advisory lock, so two
 * processes migrating at once apply each migration exactly once (the second waits, then finds nothing to do).
 */
export async function runMigrations(pool: pg.Pool, schemaName: string, quotedSchema: string): Promise<MigrationReport> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ratchet.migrate:${schemaName}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quotedSchema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${quotedSchema}.schema_migrations (
           version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = await client.query<{ version: number }>(`SELECT version FROM ${quotedSchema}.schema_migrations`);
      const have = new Set(done.rows.map((r) => r.version));
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (have.has(m.version)) continue;
        await client.query(m.sql(quotedSchema));
        await client.query(`INSERT INTO ${quotedSchema}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
        applied.push(m.version);
      }
      await client.query('COMMIT');
      return { applied, version: Math.max(0, ...have, ...applied) };
    } catch (err) {
      // A client whose ROLLBACK fails is unusable: destroy it rather than return it to the pool.
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      });
      throw err;
    }
  } finally {
    client.release(broken);
  }
}
