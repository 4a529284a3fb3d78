import type { RecordedEvent } from '@ratchet/core';

/** A position in the global feed: the last event read, in commit order (transaction id, then global position). */
export interface FeedCheckpoint {
  /** xid8 of the event's transaction, as a decimal string. */
  readonly transactionId: string;
  readonly globalPosition: number;
}

/** The checkpoint before the first event: `readFeed(FEED_START, …)` reads from the beginning. */
export const FEED_START: FeedCheckpoint = Object.freeze({ transactionId: '0', globalPosition: 0 });

/** One page of the feed and the checkpoint to pass to the next `readFeed`. */
export interface FeedPage {
  readonly events: readonly RecordedEvent[];
  /** The last event's position, or the checkpoint passed in when the page is empty. */
  readonly checkpoint: FeedCheckpoint;
}

/** Where the feed ends right now, for lag reporting. */
export interface FeedHead {
  /** Checkpoint of the last event a reader can see now (FEED_START when the store is empty). */
  readonly checkpoint: FeedCheckpoint;
  /** Highest global position committed or in flight (0 when empty); `globalPosition` of a reader's checkpoint below it is an upper bound of its lag. */
  readonly maxGlobalPosition: number;
  /** Number of events readable in the feed now (a count(*) scan: cheap for tests, costly on a large store). */
  readonly eventCount: number;
}
