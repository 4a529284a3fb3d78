import { createPostgresEventStore, handlePoolErrors, type MasterKey } from '@ratchet/event-store-postgres';
import type { AnyProcess } from '@ratchet/process';
import pg from 'pg';
import { Tally, type Violation } from './check-category.js';
import { verifyProcesses } from './verify-processes.js';

/** Options of {@link checkProcesses}. */
export interface CheckProcessesOptions {
  /** Postgres holding the event store and the process tables. */
  readonly databaseUrl: string;
  readonly processes: readonly AnyProcess[];
  /** Event-store schema. Default `ratchet`. */
  readonly schema?: string;
  /** Most violation details kept (the count stays exact). Default 100. */
  readonly maxDetails?: number;
  /** The workers' master key, so streams with sealed sensitive values replay opened. Default none. */
  readonly masterKey?: MasterKey;
}

/**
 * C12 alone, for a store without a recorded history: every command the processes sent was
 * committed at most once and every event they subscribe to was handled, its commands answered
 * (see `verifyProcesses`). Run it once the processes have caught up.
 * @example
 * const { violations } = await checkProcesses({ databaseUrl, processes: app.processes });
 */
export async function checkProcesses(
  options: CheckProcessesOptions,
): Promise<{ readonly checked: number; readonly violations: readonly Violation[]; readonly count: number }> {
  const tally = new Tally(options.maxDetails ?? 100);
  const pool = handlePoolErrors(new pg.Pool({ connectionString: options.databaseUrl, max: 2 }));
  try {
    const client = await pool.connect();
    try {
      const schema = options.schema ?? 'ratchet';
      const store = createPostgresEventStore({
        pool,
        schema,
        ...(options.masterKey === undefined ? {} : { masterKey: options.masterKey }),
      });
      await verifyProcesses(client, schema, options.processes, tally, (events) => store.cipher.openEvents(events));
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
  const report = tally.report();
  return { checked: report.counts.C12.checked, violations: report.violations, count: report.counts.C12.violations };
}
