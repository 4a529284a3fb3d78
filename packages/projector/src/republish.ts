import type { RecordedEvent } from '@ratchet/core';
import type { FeedCheckpoint, FeedPage } from '@ratchet/event-store-postgres';
import { FEED_START } from '@ratchet/event-store-postgres';
import type { JetStreamClient } from '@nats-io/jetstream';
import { eventMessage } from '@ratchet/transport-nats';

/** The part of the event store {@link republish} reads. */
export interface FeedReader {
  readFeed(after: FeedCheckpoint, limit: number): Promise<FeedPage>;
}

/** Options of {@link republish}. */
export interface RepublishOptions {
  /** Events per feed page. Default 500. */
  readonly batchSize?: number;
  /** Called after each page with the running count and the page's checkpoint. */
  readonly onProgress?: (published: number, checkpoint: FeedCheckpoint) => void;
}

/** What {@link republish} did. */
export interface RepublishResult {
  readonly published: number;
  /** The last event's position; pass it to resume. */
  readonly checkpoint: FeedCheckpoint;
}

/** The relay's message (subject, body, headers with `Nats-Msg-Id`), through the JetStream client. */
function publish(js: JetStreamClient, event: RecordedEvent): Promise<unknown> {
  const { subject, data, headers } = eventMessage(event);
  return js.publish(subject, data, { headers });
}

/**
 * Publish committed events again from the Postgres feed, with the relay's subject, body and
 * headers (`eventMessage` of `@ratchet/transport-nats`, `Nats-Msg-Id` included), for a JetStream
 * stream that was lost or purged. JetStream is a cache: this refills it, and projectors drop what
 * they already applied by (stream, version).
 * @example
 * await ensureEventsStream(jsm);
 * await republish(store, jetstream(nc), FEED_START);
 */
export async function republish(
  store: FeedReader,
  js: JetStreamClient,
  fromCheckpoint: FeedCheckpoint = FEED_START,
  options: RepublishOptions = {},
): Promise<RepublishResult> {
  const batchSize = options.batchSize ?? 500;
  let checkpoint = fromCheckpoint;
  let published = 0;
  for (;;) {
    const page = await store.readFeed(checkpoint, batchSize);
    if (page.events.length === 0) return { published, checkpoint };
    await Promise.all(page.events.map((e) => publish(js, e)));
    published += page.events.length;
    checkpoint = page.checkpoint;
    options.onProgress?.(published, checkpoint);
  }
}
