import type { MsgHdrs } from '@nats-io/transport-node';

/**
 * The narrow transport interfaces Ratchet's runtime needs. A nats.js `NatsConnection` implements
 * them as it is, and so does the embedded in-process bus, so neither needs a cast.
 */

/** Message headers as read by the runtime (nats.js `MsgHdrs` fits). */
export interface TransportHeaders {
  get(key: string): string;
  has(key: string): boolean;
  keys(): string[];
}

/** A message delivered to a subscription (nats.js `Msg` fits). */
export interface TransportMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Where to send the answer; empty or absent for a publish that expects none. */
  readonly reply?: string;
  readonly headers?: TransportHeaders;
  /** Answer a request; false when the message has no reply subject. */
  respond(data?: Uint8Array): boolean;
}

/** A subscription the runtime can stop (nats.js `Subscription` fits). */
export interface TransportSubscription {
  /** Stop receiving, after handing over the messages already received. */
  drain(): Promise<void>;
  unsubscribe(): void;
}

/** Options of {@link CommandTransport.subscribe}. */
export interface TransportSubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  readonly queue?: string;
  readonly callback: (error: Error | null, message: TransportMessage) => void;
}

/** What a worker needs of its connection: queue subscriptions whose messages it answers. */
export interface CommandTransport {
  subscribe(subject: string, options: TransportSubscribeOptions): TransportSubscription;
}

/** Options of one {@link RequestTransport.request}. */
export interface TransportRequestOptions {
  /** Milliseconds before the request fails with a timeout. */
  readonly timeout: number;
  /** Headers to send (nats.js `headers()`). */
  readonly headers?: MsgHdrs;
}

/**
 * What a client needs of its connection: request/reply, and closing. A request nobody listens to
 * must fail with nats.js's `errors.RequestError` whose `isNoResponders()` is true, a timeout with
 * `errors.TimeoutError`, as nats.js does.
 */
export interface RequestTransport {
  request(subject: string, data: Uint8Array, options: TransportRequestOptions): Promise<{ readonly data: Uint8Array }>;
  isClosed(): boolean;
  close(): Promise<void>;
}
