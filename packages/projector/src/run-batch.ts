import type { RecordedEvent } from '@ratchet/core';
import { crashPoint } from '@ratchet/ops';
import type pg from 'pg';
import type { ApplyOptions, ApplyReport } from './apply-events.js';
import { HandlerFailedSignal, applyEvents } from './apply-events.js';
import { ProjectorCrashPoint } from './crash-point.js';
import type { Projection } from './define-projection.js';

/** Extra work committed with the batch: `before` the events (unparking), `after` them. */
export interface BatchHooks {
  readonly before?: (client: pg.ClientBase) => Promise<void>;
  readonly after?: (client: pg.ClientBase, report: ApplyReport) => Promise<void>;
}

/**
 * One read-model transaction: apply the events, move the high-water marks and the version's
 * counters (and feed checkpoint), run the hooks, commit. Handlers run without savepoints first; if
 * one throws, the batch is rolled back and redone with a savepoint per event, retries and parking.
 */
export async function runBatch(
  pool: pg.Pool,
  projection: Projection,
  events: readonly RecordedEvent[],
  options: Omit<ApplyOptions, 'careful'>,
  hooks: BatchHooks = {},
): Promise<ApplyReport> {
  const client = await pool.connect();
  let broken = false;
  try {
    for (const careful of [false, true]) {
      await client.query('BEGIN');
      try {
        await hooks.before?.(client);
        const report = await applyEvents(client, projection, events, { ...options, careful });
        await hooks.after?.(client, report);
        crashPoint(ProjectorCrashPoint.BEFORE_COMMIT);
        await client.query('COMMIT');
        return report;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        if (error instanceof HandlerFailedSignal && !careful) continue;
        throw error;
      }
    }
    throw new Error('unreachable');
  } finally {
    client.release(broken);
  }
}
