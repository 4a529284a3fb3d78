import type { RecordedEvent } from '@ratchet/core';
import type { FeedCheckpoint, FeedPage } from '@ratchet/event-store-postgres';

/** The part of the event store a projector reads: streams (to fill gaps, retry parked events) and the feed (rebuilds, feed mode). */
export interface ProjectorStore {
  readStream(streamId: string, options?: { fromVersion?: number; toVersion?: number }): Promise<RecordedEvent[]>;
  readFeed(after: FeedCheckpoint, limit: number): Promise<FeedPage>;
  feedHead(): Promise<{ readonly eventCount: number }>;
}
