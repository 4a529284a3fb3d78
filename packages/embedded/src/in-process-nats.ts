import { randomUUID } from 'node:crypto';
import { errors, headers as natsHeaders, type Msg, type MsgHdrs, type Payload, type PublishOptions } from '@nats-io/transport-node';
import { requireItem } from '@ratchet/core';
import type {
  CommandTransport,
  RequestTransport,
  TransportRequestOptions,
  TransportMessage,
  TransportSubscribeOptions,
  TransportSubscription,
} from '@ratchet/transport-nats';
import { subjectMatches } from './subject-match.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Sub {
  readonly sid: number;
  readonly subject: string;
  readonly queue: string | undefined;
  readonly callback: (error: Error | null, message: Msg) => void;
  readonly connection: InProcessConnection;
  active: boolean;
  received: number;
  pending: number;
  idle: Array<() => void>;
}

/** A published message on its way to subscribers, as a server would carry it. */
interface Envelope {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly reply: string | undefined;
  readonly headers: MsgHdrs | undefined;
}

/**
 * The "server" of the in-process transport: routes messages between the connections made from it,
 * with NATS subject wildcards and queue groups (each message goes to every plain subscription and
 * to one member of each queue group). Delivery is asynchronous (next turn of the event loop), as
 * over a network; nothing is persisted and there is no JetStream.
 */
export class InProcessNats {
  readonly #subs = new Set<Sub>();
  #nextSid = 1;

  /** A new connection to this bus: a worker's transport and a client's; close it like a NATS connection. */
  connect(name = 'in-process'): InProcessConnection {
    return new InProcessConnection(this, name);
  }

  /** @internal */
  add(connection: InProcessConnection, subject: string, queue: string | undefined, callback: Sub['callback']): Sub {
    const sub: Sub = { sid: this.#nextSid++, subject, queue, callback, connection, active: true, received: 0, pending: 0, idle: [] };
    this.#subs.add(sub);
    return sub;
  }

  /** @internal */
  remove(sub: Sub): void {
    sub.active = false;
    this.#subs.delete(sub);
  }

  /** @internal Route a message; resolves the number of subscriptions it was handed to. */
  route(envelope: Envelope): number {
    const plain: Sub[] = [];
    const groups = new Map<string, Sub[]>();
    for (const sub of this.#subs) {
      if (!subjectMatches(sub.subject, envelope.subject)) continue;
      if (sub.queue === undefined) plain.push(sub);
      else {
        const members = groups.get(sub.queue);
        if (members === undefined) groups.set(sub.queue, [sub]);
        else members.push(sub);
      }
    }
    const targets = plain;
    // A queue group is in the map only with a member.
    for (const members of groups.values())
      targets.push(requireItem(members, Math.floor(Math.random() * members.length), 'member of the queue group'));
    for (const sub of targets) {
      sub.pending += 1;
      setImmediate(() => deliver(sub, envelope));
    }
    return targets.length;
  }
}

function deliver(sub: Sub, envelope: Envelope): void {
  sub.pending -= 1;
  if (sub.active) {
    sub.received += 1;
    const msg = new InProcessMsg(sub, envelope);
    try {
      sub.callback(null, msg);
    } catch {
      // A throwing callback must not stop delivery to others (nats.js swallows it too).
    }
  }
  if (sub.pending === 0 && sub.idle.length > 0) {
    for (const resolve of sub.idle.splice(0)) resolve();
  }
}

function copyHeaders(h: MsgHdrs | undefined): MsgHdrs | undefined {
  if (h === undefined) return undefined;
  const copy = natsHeaders(h.code, h.description);
  for (const key of h.keys()) for (const value of h.values(key)) copy.append(key, value);
  return copy;
}

function toBytes(payload: Payload | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  return typeof payload === 'string' ? encoder.encode(payload) : payload;
}

class InProcessMsg implements Msg {
  readonly subject: string;
  readonly sid: number;
  readonly reply: string | undefined;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly #connection: InProcessConnection;

  constructor(sub: Sub, envelope: Envelope) {
    this.subject = envelope.subject;
    this.sid = sub.sid;
    this.reply = envelope.reply;
    this.data = envelope.data;
    this.headers = envelope.headers;
    this.#connection = sub.connection;
  }

  respond(payload?: Payload, opts?: PublishOptions): boolean {
    if (this.reply === undefined || this.reply === '') return false;
    this.#connection.publish(this.reply, payload, opts);
    return true;
  }

  json<T>(reviver?: (this: unknown, key: string, value: unknown) => unknown): T {
    return JSON.parse(this.string(), reviver) as T;
  }

  string(): string {
    return decoder.decode(this.data);
  }
}

/** A callback subscription on the bus. */
export class InProcessSubscription implements TransportSubscription {
  readonly closed: Promise<void>;
  readonly #sub: Sub;
  readonly #bus: InProcessNats;
  #resolveClosed!: () => void;
  #draining = false;

  constructor(bus: InProcessNats, sub: Sub) {
    this.#bus = bus;
    this.#sub = sub;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  unsubscribe(): void {
    if (!this.#sub.active) return;
    this.#bus.remove(this.#sub);
    this.#sub.connection.forget(this);
    this.#resolveClosed();
  }

  /** Stop receiving, then resolve once the messages already routed here were handed to the callback. */
  async drain(): Promise<void> {
    if (this.#draining || !this.#sub.active) return this.closed;
    this.#draining = true;
    const sub = this.#sub;
    const delivered = sub.pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => sub.idle.push(resolve));
    // Keep the subscription active until what was routed to it is delivered, but route no more to it.
    this.#bus.remove(sub);
    sub.active = true;
    await delivered;
    sub.active = false;
    this.#sub.connection.forget(this);
    this.#resolveClosed();
  }

  isClosed(): boolean {
    return !this.#sub.active;
  }
}

/**
 * A connection to an {@link InProcessNats} bus, with what Ratchet's worker and client need of a
 * NATS connection (`CommandTransport`, `RequestTransport`): `subscribe` (with `queue` and
 * `callback`), `publish`, `request` (rejecting like nats.js: a `RequestError` caused by
 * `NoRespondersError` when nothing is subscribed, a `TimeoutError` when no reply comes in time),
 * `drain`, `close`, `isClosed`.
 */
export class InProcessConnection implements CommandTransport, RequestTransport {
  readonly #bus: InProcessNats;
  /** The name given at `connect`, for logs. */
  readonly name: string;
  readonly #subs = new Set<InProcessSubscription>();
  readonly #requests = new Set<(error: Error) => void>();
  #closed = false;
  #draining = false;

  constructor(bus: InProcessNats, name: string) {
    this.#bus = bus;
    this.name = name;
  }

  /** @internal */
  forget(sub: InProcessSubscription): void {
    this.#subs.delete(sub);
  }

  subscribe(subject: string, options: TransportSubscribeOptions): InProcessSubscription {
    this.#check();
    const sub = new InProcessSubscription(this.#bus, this.#bus.add(this, subject, options.queue, options.callback));
    this.#subs.add(sub);
    return sub;
  }

  publish(subject: string, payload?: Payload, opts: PublishOptions = {}): void {
    this.#check();
    this.#bus.route({ subject, data: toBytes(payload), reply: opts.reply, headers: copyHeaders(opts.headers) });
  }

  request(subject: string, payload?: Payload, opts: TransportRequestOptions = { timeout: 1_000 }): Promise<TransportMessage> {
    if (this.#closed) return Promise.reject(new errors.ClosedConnectionError());
    if (this.#draining) return Promise.reject(new errors.DrainingConnectionError());
    const timeout = opts.timeout || 1_000;
    const inbox = `_INBOX.${randomUUID().replaceAll('-', '')}`;
    return new Promise<TransportMessage>((resolve, reject) => {
      let settled = false;
      /** Stop waiting; false when the request was already settled. */
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        this.#requests.delete(fail);
        replies.unsubscribe();
        return true;
      };
      const settle = (error: Error): void => {
        if (finish()) reject(error);
      };
      const fail = (error: Error): void => settle(error);
      const replies = this.subscribe(inbox, {
        callback: (_err, msg) => {
          if (finish()) resolve(msg);
        },
      });
      const timer = setTimeout(() => settle(new errors.TimeoutError()), timeout);
      this.#requests.add(fail);
      const routed = this.#bus.route({ subject, data: toBytes(payload), reply: inbox, headers: copyHeaders(opts.headers) });
      if (routed === 0) {
        // What nats-server answers (a 503 status) and nats.js turns into this error.
        const cause = new errors.NoRespondersError(subject);
        setImmediate(() => settle(new errors.RequestError(cause.message, { cause })));
      }
    });
  }

  async flush(): Promise<void> {
    this.#check();
  }

  isClosed(): boolean {
    return this.#closed;
  }

  /** Drain every subscription (deliver what was routed to it), then close. */
  async drain(): Promise<void> {
    if (this.#closed) throw new errors.ClosedConnectionError();
    if (this.#draining) throw new errors.DrainingConnectionError();
    this.#draining = true;
    await Promise.all([...this.#subs].map((s) => s.drain()));
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of [...this.#subs]) sub.unsubscribe();
    for (const fail of [...this.#requests]) fail(new errors.RequestError('connection closed'));
  }

  #check(): void {
    if (this.#closed) throw new errors.ClosedConnectionError();
  }
}
