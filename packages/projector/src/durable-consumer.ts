import { setTimeout as delay } from 'node:timers/promises';
import type { RecordedEvent } from '@ratchet/core';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { decodeEventMessage } from '@ratchet/transport-nats';
import type { Logger } from 'pino';
import type { BatchSizes } from './next-batch-limit.js';
import type { JetStreamAccess } from './runner-settings.js';

/** A JetStream message and its event, decoded on arrival, or why it could not be decoded. */
export interface DeliveredEvent {
  readonly msg: JsMsg;
  readonly event: RecordedEvent | Error;
}

function decodeDelivered(msg: JsMsg): RecordedEvent | Error {
  try {
    return decodeEventMessage(msg.data);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * What a durable consumer is for: its name and the aggregate types it reads (a projection version,
 * a process manager). One type filters to `<prefix>.<type>.>`; several or none read every event
 * (nats-server 2.9 has no multi-filter consumers) and the reader drops what it does not want.
 */
export interface ConsumerTarget {
  /** The durable consumer's name. */
  readonly consumerName: string;
  /** Aggregate types whose events it reads; default every type. */
  readonly aggregateTypes?: readonly string[];
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

/**
 * A durable JetStream pull consumer of a projection version (`proj_<name>_v<version>`) or a
 * process manager (explicit acks, filtered to its aggregate types): created or raised to the room batches need,
 * its messages decoded as they arrive (while the batch before them commits) and buffered for
 * {@link take}, and recreated when the stream or the consumer is lost.
 */
export class DurableConsumer {
  readonly #projection: ConsumerTarget;
  readonly #js: JetStreamAccess;
  readonly #sizes: BatchSizes;
  readonly #log: Logger;
  #buffer: DeliveredEvent[] = [];
  #messages: ConsumerMessages | undefined;
  #lost = false;
  #wake: (() => void) | undefined;

  constructor(projection: ConsumerTarget, jetstream: JetStreamAccess, sizes: BatchSizes, log: Logger) {
    this.#projection = projection;
    this.#js = jetstream;
    this.#sizes = sizes;
    this.#log = log;
  }

  /** Whether the stream or the consumer was found gone; {@link recover} makes a new one. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Messages delivered and not yet taken. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /**
   * Unacked messages the consumer may hand out: two of the largest batches, so the next one
   * arrives while one commits.
   */
  #maxAckPending(): number {
    return Math.max(1_000, this.#sizes.batchSize * 4, this.#sizes.maxBatchSize * 2);
  }

  #filterSubject(): string {
    const types = this.#projection.aggregateTypes;
    return types?.length === 1 ? `${this.#js.subjectPrefix}.${types[0]}.>` : `${this.#js.subjectPrefix}.>`;
  }

  /**
   * Create the consumer, delivering from `policy` (New before a rebuild's fence, All otherwise),
   * if it does not exist; true when it was created.
   */
  async ensure(policy: DeliverPolicy): Promise<boolean> {
    const { jsm, streamName } = this.#js;
    const name = this.#projection.consumerName;
    try {
      const info = await jsm.consumers.info(streamName, name);
      const pending = info.config.max_ack_pending ?? -1;
      if (pending > 0 && pending < this.#maxAckPending()) {
        // Made with smaller batches in mind: raise it, or batches stay below maxBatchSize (a
        // consume-only user may not be allowed to, which only costs throughput).
        await jsm.consumers
          .update(streamName, name, { max_ack_pending: this.#maxAckPending() })
          .catch((error: unknown) => this.#log.warn({ err: error, consumer: name }, "could not raise the consumer's max_ack_pending"));
      }
      return false;
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
    }
    await jsm.consumers.add(streamName, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: policy,
      filter_subject: this.#filterSubject(),
      ack_wait: nanos(this.#js.ackWaitMs),
      max_ack_pending: this.#maxAckPending(),
      max_deliver: -1,
    });
    this.#log.info({ consumer: name, policy }, 'created durable consumer');
    return true;
  }

  /** Start pulling: each message is decoded into the buffer as it arrives; losing the consumer sets {@link lost}. */
  async open(): Promise<void> {
    const consumer = await this.#js.js.consumers.get(this.#js.streamName, this.#projection.consumerName);
    const messages = await consumer.consume({
      // Enough in flight to fill the largest batch while one commits. Messages of a pull still
      // outstanding when the subscription closes (stop, recovery) come again after the ack wait;
      // meanwhile later events of their streams fill the gap from the store.
      max_messages: this.#sizes.maxBatchSize,
      callback: (m) => {
        this.#buffer.push({ msg: m, event: decodeDelivered(m) });
        this.#wake?.();
      },
    });
    this.#messages = messages;
    void (async () => {
      for await (const s of messages.status()) {
        // Only about the subscription in use: a late status of one closed by recover() is stale.
        if (messages !== this.#messages) return;
        if (s.type === 'consumer_not_found' || s.type === 'consumer_deleted' || s.type === 'stream_not_found') {
          this.#lost = true;
          this.#wake?.();
        }
      }
    })().catch(() => undefined);
  }

  /** Up to `limit` delivered messages, oldest first, taken out of the buffer. */
  take(limit: number): DeliveredEvent[] {
    return this.#buffer.splice(0, limit);
  }

  /** Resolve once messages are buffered, the consumer is lost, `signal` aborts, or `ms` passed. */
  async waitForMessages(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#buffer.length > 0 || this.#lost || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', wake);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      signal.addEventListener('abort', wake, { once: true });
      this.#wake = wake;
    });
  }

  /**
   * Recreate a lost consumer (the stream was deleted and recreated) delivering the whole stream:
   * the (stream, version) dedupe drops what was applied. Retries until it works or `signal` aborts.
   */
  async recover(signal: AbortSignal): Promise<void> {
    // From here on, signals about the old subscription are stale (see open() and probeLag()): one
    // arriving while it closes must not send a healthy new subscription through here again.
    // Delivered messages not applied are handed back: a deleted consumer ignores that; one only
    // thought lost (a late signal) redelivers them at once instead of after the ack wait.
    await this.close();
    this.#lost = false;
    for (;;) {
      if (signal.aborted) return;
      try {
        await this.#js.jsm.streams.info(this.#js.streamName);
        await this.ensure(DeliverPolicy.All);
        await this.open();
        this.#log.warn('consumer recreated after the stream or consumer was lost');
        return;
      } catch (error) {
        this.#log.debug({ err: error }, 'events stream not there yet');
        await delay(200);
      }
    }
  }

  /**
   * Messages not yet applied (pending plus unacked), from the server; undefined when it could not
   * say. A probe that finds the consumer or stream gone sets {@link lost}, unless it was sent before
   * the current subscription existed.
   */
  async probeLag(): Promise<number | undefined> {
    const messages = this.#messages;
    try {
      const info = await this.#js.jsm.consumers.info(this.#js.streamName, this.#projection.consumerName);
      return info.num_pending + info.num_ack_pending;
    } catch (error) {
      if (messages === undefined || messages !== this.#messages) return undefined;
      if (isApiError(error, JetStreamApiCodes.ConsumerNotFound)) {
        this.#lost = true;
        this.#wake?.();
      } else if (isApiError(error, JetStreamApiCodes.StreamNotFound)) {
        this.#lost = true;
      }
      return undefined;
    }
  }

  /** Stop pulling and hand every buffered message back (nak) for redelivery. */
  async close(): Promise<void> {
    const messages = this.#messages;
    this.#messages = undefined;
    await messages?.close().catch(() => undefined);
    for (const d of this.#buffer.splice(0)) d.msg.nak();
  }
}
