import type pg from 'pg';
import { PROJECTIONS_SCHEMA } from './define-projection.js';
import { inTransaction } from './in-transaction.js';

const S = `"${PROJECTIONS_SCHEMA}"`;

/** Options of {@link activateVersion}. */
export interface ActivateOptions {
  /** Schema of the stable views. Default 'public'. */
  readonly viewSchema?: string;
  /** Switch even to an older version than the active one (a rollback). Default false. */
  readonly force?: boolean;
}

/**
 * Make `version` the one readers see, in one transaction: every stable view `<table>` is re-pointed
 * at `proj_<table>_v<version>` with CREATE OR REPLACE VIEW (readers wait for the lock at most,
 * never fail) and `active` records the version. Resolves false when a newer version is active.
 */
export async function activateVersion(pool: pg.Pool, name: string, version: number, options: ActivateOptions = {}): Promise<boolean> {
  const viewSchema = options.viewSchema ?? 'public';
  return inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('ratchet_projections:' || $1))`, [name]);
    const current = await client.query<{ version: number }>(`SELECT version FROM ${S}.active WHERE name = $1`, [name]);
    const from = current.rows[0]?.version;
    // A newer version is active: change nothing (the transaction only read).
    if (from !== undefined && from > version && options.force !== true) return false;
    const target = await client.query<{ tables: string[]; status: string }>(
      `SELECT tables, status FROM ${S}.versions WHERE name = $1 AND version = $2`,
      [name, version],
    );
    const row = target.rows[0];
    if (row === undefined) throw new Error(`projection ${name} has no version ${version}`);
    for (const table of row.tables) {
      const view = `"${viewSchema}"."${table}"`;
      const source = `${S}."proj_${table}_v${version}"`;
      await client.query('SAVEPOINT ratchet_view');
      try {
        await client.query(`CREATE OR REPLACE VIEW ${view} AS SELECT * FROM ${source}`);
        await client.query('RELEASE SAVEPOINT ratchet_view');
      } catch {
        // The new table dropped or retyped a column, which CREATE OR REPLACE refuses. Still one
        // transaction: readers queue on the view's lock and then see the new definition.
        await client.query('ROLLBACK TO SAVEPOINT ratchet_view');
        await client.query(`DROP VIEW IF EXISTS ${view}`);
        await client.query(`CREATE VIEW ${view} AS SELECT * FROM ${source}`);
      }
    }
    if (from !== undefined && from !== version) {
      const old = await client.query<{ tables: string[] }>(`SELECT tables FROM ${S}.versions WHERE name = $1 AND version = $2`, [
        name,
        from,
      ]);
      for (const table of old.rows[0]?.tables ?? []) {
        if (!row.tables.includes(table)) await client.query(`DROP VIEW IF EXISTS "${viewSchema}"."${table}"`);
      }
    }
    await client.query(
      `INSERT INTO ${S}.active (name, version) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, switched_at = now()`,
      [name, version],
    );
    return true;
  });
}
