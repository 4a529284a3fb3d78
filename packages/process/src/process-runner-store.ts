import type { RecordedEvent } from '@ratchet/core';
import type { FeedCheckpoint, FeedPage } from '@ratchet/event-store-postgres';
import type { EventOpener } from '@ratchet/projector';

/** The part of the event store a process runner reads: streams (gaps, retries of parked events) and, without NATS, the feed. */
export interface ProcessRunnerStore {
  readStream(streamId: string, options?: { fromVersion?: number; toVersion?: number }): Promise<RecordedEvent[]>;
  readFeed(after: FeedCheckpoint, limit: number): Promise<FeedPage>;
  /** Opens sealed sensitive values before handlers see them (the store's `cipher`; docs/sensitive-data.md). Without one, handlers get them sealed. */
  readonly cipher?: Pick<EventOpener, 'openEvents'>;
}
