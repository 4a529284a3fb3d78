import { setTimeout as delay } from 'node:timers/promises';
import type { FeedCheckpoint } from '@ratchet/event-store-postgres';
import { feedPages, feedProgress } from './feed-pages.js';
import type { VersionRun } from './version-run.js';

/**
 * Feed mode (no NATS, e.g. embedded): apply the event store's feed from the version's saved
 * checkpoint on, each page in one read-model transaction that moves the checkpoint, polling when it
 * is empty, until the run is stopped.
 */
export async function followFeed(run: VersionRun, from: FeedCheckpoint): Promise<void> {
  for await (const page of feedPages(run.settings.store, from, run.settings)) {
    if (run.signal.aborted) return;
    if (page.events.length === 0) {
      run.reportLag(0);
      await delay(run.settings.feedPollIntervalMs);
      continue;
    }
    await run.applier.apply(page.events, { feed: feedProgress(page) });
  }
}
