import type { RecordedEvent } from '@ratchet/core';
import type { FeedCheckpoint, FeedPage } from '@ratchet/event-store-postgres';

/** The part of the event store a projector reads: streams (to fill gaps, retry parked events) and the feed (rebuilds, feed mode). */
export interface ProjectorStore {
  readStream(streamId: string, options?: { fromVersion?: number; toVersion?: number }): Promise<RecordedEvent[]>;
  readFeed(after: FeedCheckpoint, limit: number): Promise<FeedPage>;
  feedHead(): Promise<{ readonly eventCount: number }>;
  /**
   * Opens sealed sensitive values before handlers see them (docs/sensitive-data.md): the store's
   * `cipher`. Without one, handlers get sealed values as stored.
   */
  readonly cipher?: EventOpener;
}

/** What a projector needs of a cipher: opening events, and hearing forgets so no cached key outlives one. */
export interface EventOpener {
  openEvents<E extends Pick<RecordedEvent, 'data'>>(events: readonly E[]): Promise<E[]>;
  onForget(listener: (subject: string | undefined) => void): () => Promise<void>;
}
