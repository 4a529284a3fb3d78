import { handlePoolErrors } from '@ratchet/event-store-postgres';
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
  const pool = handlePoolErrors(new pg.Pool({ connectionString: options.databaseUrl, max: 1 }));
  try {
    const client = await pool.connect();
    try {
      await verifyProcesses(client, options.schema ?? 'ratchet', options.processes, tally);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
  const report = tally.report();
  return { checked: report.counts.C12.checked, violations: report.violations, count: report.counts.C12.violations };
}
