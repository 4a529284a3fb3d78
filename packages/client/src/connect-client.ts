import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, errors, headers, type MsgHdrs } from '@nats-io/transport-node';
import { ErrorCode, errorFromData, RatchetError, type Aggregate, type CommandUnion, type EventUnion } from '@ratchet/core';
import {
  commandSubject,
  decodeReply,
  DEFAULT_PARTITION_COUNT,
  encodeCommandRequest,
  endCommandSpan,
  MAX_REQUEST_BYTES,
  natsConnectOptions,
  parseCommandRequest,
  partitionOf,
  startCommandSpan,
  unroutedSubjectFor,
  validateAggregateType,
  validTraceparent,
  type CommandMetadata,
  type CommandRequest,
  type RequestTransport,
} from '@ratchet/transport-nats';
import { backoffDelay, type BackoffOptions } from './backoff-delay.js';
import type { SendResult } from './send-result.js';

/** Options of {@link connectClient}. */
export interface ClientOptions {
  /** NATS server URL(s) to connect to, credentials in the URL allowed (`nats://user:pass@host`); default the nats.js default (127.0.0.1:4222). Ignored with `connection`. */
  readonly servers?: string | string[];
  /** An existing connection to use (a NATS connection, or the embedded in-process bus's); the client then never closes it. */
  readonly connection?: RequestTransport;
  /** Partitions per aggregate type; must match the workers'. Default 64. */
  readonly partitionCount?: number;
  /** Overall budget of one send, retries included, in milliseconds; default 5000. */
  readonly timeoutMs?: number;
  /** Budget of one request attempt in milliseconds; default 1000. */
  readonly attemptTimeoutMs?: number;
  /** Backoff between attempts (full jitter); default `{ initialMs: 25, maxMs: 500 }`. */
  readonly backoff?: BackoffOptions;
  /** Largest request in bytes, checked before sending; default 65536 (the workers' default). */
  readonly maxRequestBytes?: number;
}

/** Options of one send. */
export interface SendOptions {
  /** Idempotency key; default a new UUID. Reuse it to retry a command whose outcome is unknown. */
  readonly commandId?: string;
  /** Fail with VERSION_CONFLICT unless the aggregate is at this version. */
  readonly expectedVersion?: number;
  /** Overall budget in milliseconds; default the client's `timeoutMs`. */
  readonly timeoutMs?: number;
  /** Correlation and causation ids and other string metadata, stored with the events. */
  readonly metadata?: CommandMetadata;
  /** W3C traceparent to continue; default the active OpenTelemetry context, if any. */
  readonly traceparent?: string;
}

/** An untyped command, for callers without the aggregate definition (CLI, parity tests). */
export interface RawCommand {
  readonly type: string;
  /** Any JSON value; default `{}`. */
  readonly payload?: unknown;
}

/** What `send` needs of an aggregate definition (structural, so any `defineAggregate` result fits). */
export type AggregateRef = Pick<Aggregate, 'type' | 'commands' | 'events'>;

/** Sends commands to the workers that own the aggregates. */
export interface RatchetClient {
  /** Send a command typed by the aggregate definition. Never throws for server-side outcomes. */
  send<A extends AggregateRef>(
    aggregate: A,
    id: string,
    command: CommandUnion<A['commands']>,
    options?: SendOptions,
  ): Promise<SendResult<EventUnion<A['events']>>>;
  /** Send a command by aggregate type name, unchecked against any definition. */
  sendRaw(aggregateType: string, id: string, command: RawCommand, options?: SendOptions): Promise<SendResult>;
  /** The connection in use. */
  readonly connection: RequestTransport;
  /** Close the connection if the client opened it. */
  close(): Promise<void>;
}

/**
 * Connect a client. Each send routes to `ratchet.cmd.<type>.<partitionOf(id)>`, retries on no
 * responders, attempt timeouts and retryable errors with the same command id, until `timeoutMs`.
 * @example
 * const client = await connectClient({ servers: 'nats://127.0.0.1:4222' });
 * const result = await client.send(Turnstile, 'turnstile-1', { type: 'insertCoin', payload: {} });
 * if (result.status === 'ok') console.log(result.version);
 * await client.close();
 */
export async function connectClient(options: ClientOptions = {}): Promise<RatchetClient> {
  const owned = options.connection === undefined;
  const nc =
    options.connection ??
    (await connect(
      options.servers === undefined ? {} : natsConnectOptions(Array.isArray(options.servers) ? options.servers.join(',') : options.servers),
    ));
  const config = {
    partitionCount: options.partitionCount ?? DEFAULT_PARTITION_COUNT,
    timeoutMs: options.timeoutMs ?? 5_000,
    attemptTimeoutMs: options.attemptTimeoutMs ?? 1_000,
    backoff: options.backoff ?? {},
    maxRequestBytes: options.maxRequestBytes ?? MAX_REQUEST_BYTES,
  };
  partitionOf('', config.partitionCount); // throws RangeError now rather than on every send

  const sendRaw = (aggregateType: string, id: string, command: RawCommand, sendOptions: SendOptions = {}) =>
    sendCommand(nc, config, aggregateType, id, command, sendOptions);

  return {
    connection: nc,
    send: (aggregate, id, command, sendOptions) => sendRaw(aggregate.type, id, command, sendOptions) as Promise<SendResult<never>>,
    sendRaw,
    async close() {
      if (owned && !nc.isClosed()) await nc.close();
    },
  };
}

interface Config {
  readonly partitionCount: number;
  readonly timeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly backoff: BackoffOptions;
  readonly maxRequestBytes: number;
}

async function sendCommand(
  nc: RequestTransport,
  config: Config,
  aggregateType: string,
  id: string,
  command: RawCommand,
  options: SendOptions,
): Promise<SendResult> {
  const commandId = options.commandId ?? randomUUID();
  const local = (error: RatchetError): SendResult => ({ status: 'error', error, commandId, attempts: 0 });

  // Check locally what the worker would check, so bad input fails without a round trip.
  let body: Uint8Array;
  try {
    validateAggregateType(aggregateType);
    if (options.traceparent !== undefined && !validTraceparent(options.traceparent)) {
      throw new RatchetError(ErrorCode.VALIDATION_FAILED, 'traceparent is not a W3C traceparent', {
        details: { issues: [{ path: ['traceparent'], message: 'not a W3C traceparent' }] },
      });
    }
    const request: CommandRequest = {
      id,
      command: { type: command.type, payload: command.payload ?? {} },
      commandId,
      ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    };
    body = encodeCommandRequest(request);
    parseCommandRequest(body, { maxBytes: config.maxRequestBytes });
  } catch (err) {
    if (err instanceof RatchetError) return local(err);
    // JSON.stringify throws on BigInt and cycles.
    return local(new RatchetError(ErrorCode.VALIDATION_FAILED, `command is not JSON-serialisable: ${String(err)}`, { cause: err }));
  }

  const subject = commandSubject(aggregateType, partitionOf(id, config.partitionCount));
  const h = headers();
  const span = startCommandSpan({
    side: 'client',
    aggregateType,
    aggregateId: id,
    commandType: command.type,
    headers: h,
    ...(options.traceparent === undefined ? {} : { traceparent: options.traceparent }),
  });
  const result = await attemptUntilDeadline(nc, config, subject, body, h, commandId, options.timeoutMs ?? config.timeoutMs);
  endCommandSpan(span, result.status, result.attempts, result.status === 'error' ? result.error.code : undefined);
  return result;
}

async function attemptUntilDeadline(
  nc: RequestTransport,
  config: Config,
  subject: string,
  body: Uint8Array,
  h: MsgHdrs,
  commandId: string,
  timeoutMs: number,
): Promise<SendResult> {
  const deadline = performance.now() + timeoutMs;
  let attempts = 0;
  // Set once a request may have reached a worker without us hearing back: the outcome is then unknown.
  let maybeDelivered = false;
  let lastRetryable: RatchetError | undefined;

  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    attempts += 1;
    try {
      const timeout = Math.max(1, Math.ceil(Math.min(config.attemptTimeoutMs, remaining)));
      const msg = await nc.request(subject, body, { timeout, headers: h });
      const reply = decodeReply(msg.data);
      if (reply.status !== 'error') return { ...reply, commandId, attempts };
      const error = errorFromData(reply.error);
      if (!error.retryable) return { status: 'error', error, commandId, attempts };
      lastRetryable = error;
    } catch (err) {
      if (err instanceof errors.RequestError && err.isNoResponders()) {
        // Nobody serves the partition right now: nothing was delivered. Ask the workers why (an
        // unknown aggregate type or partition is final; a partition between owners is retried).
        const why = await askWhyUnrouted(nc, subject, body, h, Math.min(config.attemptTimeoutMs, deadline - performance.now()));
        if (why !== undefined && !why.retryable) return { status: 'error', error: why, commandId, attempts };
        lastRetryable =
          why ??
          new RatchetError(ErrorCode.UNAVAILABLE, `no worker serves ${subject}`, {
            details: { subject, reason: 'no-responders' },
            cause: err,
          });
      } else if (err instanceof errors.ClosedConnectionError || err instanceof errors.DrainingConnectionError) {
        lastRetryable = undefined;
        const error = new RatchetError(ErrorCode.UNAVAILABLE, 'the NATS connection is closed', { retryable: false, cause: err });
        return maybeDelivered ? timedOut(subject, commandId, attempts, timeoutMs) : { status: 'error', error, commandId, attempts };
      } else {
        // Attempt timeout or a dropped connection: the request may have been handled.
        maybeDelivered = true;
      }
    }
    const delay = backoffDelay(attempts, config.backoff);
    // A retry with only a sliver of budget left could hardly be answered; its timeout would only
    // turn a known outcome (the last retryable error) into an unknown one.
    if (deadline - (performance.now() + delay) < config.attemptTimeoutMs / 4) break;
    await sleep(delay);
  }

  if (maybeDelivered || lastRetryable === undefined) return timedOut(subject, commandId, attempts, timeoutMs);
  return { status: 'error', error: lastRetryable, commandId, attempts };
}

/** The workers' answer on the unrouted-probe subject, or undefined when none answers (no worker runs, or no time left). */
async function askWhyUnrouted(
  nc: RequestTransport,
  subject: string,
  body: Uint8Array,
  h: MsgHdrs,
  timeoutMs: number,
): Promise<RatchetError | undefined> {
  const probe = unroutedSubjectFor(subject);
  if (probe === undefined || timeoutMs < 1) return undefined;
  try {
    const reply = decodeReply((await nc.request(probe, body, { timeout: Math.ceil(timeoutMs), headers: h })).data);
    return reply.status === 'error' ? errorFromData(reply.error) : undefined;
  } catch {
    return undefined;
  }
}

function timedOut(subject: string, commandId: string, attempts: number, timeoutMs: number): SendResult {
  const error = new RatchetError(
    ErrorCode.TIMEOUT,
    `no answer on ${subject} within ${timeoutMs} ms (${attempts} attempts); the outcome is unknown: resend with commandId ${commandId} to learn it`,
    { details: { subject, commandId, attempts, timeoutMs } },
  );
  return { status: 'error', error, commandId, attempts };
}
