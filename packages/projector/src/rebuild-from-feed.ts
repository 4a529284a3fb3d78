import { setTimeout as delay } from 'node:timers/promises';
import type { FeedCheckpoint } from '@ratchet/event-store-postgres';
import type pg from 'pg';
import { feedPages, feedProgress } from './feed-pages.js';
import { RebuildProgress } from './rebuild-progress.js';
import type { VersionRun } from './version-run.js';

/** Whether every transaction below the fence has ended on the store's database (so the feed holds all of them). */
async function fencePassed(storePool: pg.Pool, fence: string): Promise<boolean> {
  const res = await storePool.query<{ past: boolean }>(`SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS past`, [fence]);
  return res.rows[0]?.past === true;
}

/**
 * Build a new projection version from the event store's feed (not JetStream): apply the feed from
 * `from` on, each page in one read-model transaction that also moves the version's feed checkpoint
 * (a restart resumes there), until the feed is drained and every transaction below `fence` has
 * ended. Resolves true then, false when the run was stopped first. Events that also come through
 * JetStream later are dropped there by the (stream, version) dedupe.
 */
export async function rebuildFromFeed(run: VersionRun, from: FeedCheckpoint, fence: string, doneBefore: number): Promise<boolean> {
  const progress = await RebuildProgress.start(run, doneBefore, fence);
  for await (const page of feedPages(run.settings.store, from, run.settings)) {
    if (run.signal.aborted) return false;
    if (page.events.length === 0) {
      if (await fencePassed(run.settings.storePool, fence)) {
        progress.finish();
        return true;
      }
      await delay(20);
      continue;
    }
    await run.applier.apply(page.events, { feed: feedProgress(page) });
    await progress.advance(page.events.length);
  }
  return false;
}
