import type { FeedCheckpoint, FeedPage } from '@ratchet/event-store-postgres';
import type { FeedProgress } from './apply-events.js';
import { nextBatchLimit, type BatchSizes } from './next-batch-limit.js';
import type { ProjectorStore } from './projector-store.js';

/**
 * The event store's feed from `from` on, page by page, the next page read while the caller applies
 * this one; pages grow as batches do ({@link nextBatchLimit}). An empty page means the feed has
 * nothing more for now: the next read starts when the caller asks again. Only the caller's
 * transactions move the checkpoint, so a page read ahead and never applied (stop, error) is
 * simply read again. Never ends by itself: the caller stops iterating.
 */
export async function* feedPages(
  store: Pick<ProjectorStore, 'readFeed'>,
  from: FeedCheckpoint,
  sizes: BatchSizes,
): AsyncGenerator<FeedPage> {
  const read = (after: FeedCheckpoint, limit: number): Promise<FeedPage> => {
    const page = store.readFeed(after, limit);
    page.catch(() => undefined); // a read ahead nobody waits for must not be an unhandled rejection
    return page;
  };
  let limit = sizes.batchSize;
  let next = read(from, limit);
  for (;;) {
    const page = await next;
    limit = nextBatchLimit(limit, page.events.length, sizes);
    if (page.events.length === 0) {
      yield page;
      next = read(page.checkpoint, limit);
    } else {
      next = read(page.checkpoint, limit);
      yield page;
    }
  }
}

/** What a feed page's transaction saves with the read model: the checkpoint after the page and its event count. */
export function feedProgress(page: FeedPage): FeedProgress {
  return { ...page.checkpoint, events: page.events.length };
}
