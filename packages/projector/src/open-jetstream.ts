import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { EVENTS_STREAM, ensureEventsStream } from '@ratchet/transport-nats';
import type { JetStreamAccess } from './runner-settings.js';

/** Where durable consumers of the events stream read, and how long a message may wait for its ack. */
export interface JetStreamOptions {
  /** JetStream stream. Default RATCHET_EVENTS. */
  readonly streamName?: string;
  /** Event subject prefix. Default 'ratchet.evt'. */
  readonly subjectPrefix?: string;
  /** Ack wait of the durable consumers (ms). Default 30,000. */
  readonly ackWaitMs?: number;
}

/**
 * JetStream for durable consumers of the events stream (the projector's and the process runner's),
 * the defaults filled in. The default stream is created only when it is missing: updating it needs
 * rights a consume-only user lacks; a stream given by name must exist.
 */
export async function openJetStream(nats: NatsConnection, options: JetStreamOptions): Promise<JetStreamAccess> {
  const jsm = await jetstreamManager(nats);
  if (
    options.streamName === undefined &&
    !(await jsm.streams.info(EVENTS_STREAM).then(
      () => true,
      () => false,
    ))
  ) {
    await ensureEventsStream(jsm);
  }
  return {
    js: jetstream(nats),
    jsm,
    streamName: options.streamName ?? EVENTS_STREAM,
    subjectPrefix: options.subjectPrefix ?? 'ratchet.evt',
    ackWaitMs: options.ackWaitMs ?? 30_000,
  };
}
