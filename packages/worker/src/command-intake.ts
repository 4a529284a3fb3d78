import { ErrorCode, RatchetError, ValidationError, type AnyAggregate, type EventMetadata, type ParsedCommand } from '@ratchet/core';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  commandSubject,
  encodeReply,
  endCommandSpan,
  errorReply,
  parseCommandRequest,
  partitionOf,
  requestHash,
  startCommandSpan,
  UNROUTED_SUBJECT_PREFIX,
  validTraceparent,
  type CommandReply,
  type CommandTransport,
  type TransportMessage,
  type TransportSubscription,
} from '@ratchet/transport-nats';
import type { Logger } from 'pino';
import { CrashPoint, crashPoint } from './crash-point.js';
import type { AdmittedCommand } from './handle-command.js';
import type { WorkerMetrics } from './worker-metrics.js';

/** Options of {@link CommandIntake}. */
export interface CommandIntakeOptions {
  readonly transport: CommandTransport;
  /** Queue group of the command subscriptions (the probe's is `<queueGroup>-fallback`). */
  readonly queueGroup: string;
  /** The aggregate types served, by type name. */
  readonly aggregates: ReadonlyMap<string, AnyAggregate>;
  readonly partitionCount: number;
  /** Most commands admitted and not yet answered; more get OVERLOADED. */
  readonly maxInFlight: number;
  /** Largest request body in bytes. */
  readonly maxRequestBytes: number;
  /** Run an admitted command (on its actor) and resolve its reply; a throw becomes an error reply. */
  readonly dispatch: (admitted: AdmittedCommand, aggregate: AnyAggregate, partition: number) => Promise<CommandReply>;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
}

/**
 * Where commands enter a worker and their answers leave: one queue subscription per served
 * partition and aggregate type, admission (draining, overload), parsing and validation of the
 * request in the order of docs/protocol.md section 5, the reply, and the unrouted probe that tells
 * a client why nobody serves a subject. What happens to an admitted command is `dispatch`'s business.
 */
export class CommandIntake {
  readonly #options: CommandIntakeOptions;
  readonly #subscriptions = new Map<number, TransportSubscription[]>();
  readonly #partitionInFlight = new Map<number, number>();
  readonly #partitionIdle = new Map<number, Array<() => void>>();
  #probe: TransportSubscription | undefined;
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  #closed = false;

  constructor(options: CommandIntakeOptions) {
    this.#options = options;
  }

  /** Commands admitted and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Partitions whose commands are taken here now, in order. */
  served(): number[] {
    return [...this.#subscriptions.keys()].sort((a, b) => a - b);
  }

  serves(partition: number): boolean {
    return this.#subscriptions.has(partition);
  }

  /**
   * Answer the unrouted probe: a client whose command had no responders asks why — an aggregate type
   * nobody serves, a partition that does not exist, or one between owners (retryable). Commands
   * themselves reach only their partition's subscription.
   */
  openProbe(): void {
    this.#probe ??= this.#options.transport.subscribe(`${UNROUTED_SUBJECT_PREFIX}.*.*`, {
      queue: `${this.#options.queueGroup}-fallback`,
      callback: (_error, message) => this.#onProbe(message),
    });
  }

  /** Start taking commands for a partition: one queue subscription per aggregate type. */
  serve(partition: number): void {
    if (this.#subscriptions.has(partition) || this.#closed) return;
    const subscriptions = [...this.#options.aggregates.keys()].map((type) =>
      this.#options.transport.subscribe(commandSubject(type, partition), {
        queue: this.#options.queueGroup,
        callback: (_error, message) => this.#onCommand(type, partition, message),
      }),
    );
    this.#subscriptions.set(partition, subscriptions);
  }

  /** Stop taking commands for a partition and wait (up to `deadlineMs`) for those admitted to be answered. */
  async unserve(partition: number, deadlineMs: number): Promise<void> {
    const subscriptions = this.#subscriptions.get(partition);
    if (subscriptions === undefined) return;
    this.#subscriptions.delete(partition);
    await Promise.all(subscriptions.map((s) => s.drain().catch(() => undefined)));
    if ((this.#partitionInFlight.get(partition) ?? 0) === 0) return;
    await Promise.race([
      new Promise<void>((resolve) => this.#partitionIdle.set(partition, [...(this.#partitionIdle.get(partition) ?? []), resolve])),
      new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref()),
    ]);
  }

  /** Refuse new commands from now on (UNAVAILABLE); served partitions stay subscribed until unserved. */
  close(): void {
    this.#closed = true;
  }

  /** Stop answering the probe. */
  async closeProbe(): Promise<void> {
    await this.#probe?.drain().catch(() => undefined);
    this.#probe = undefined;
  }

  /** Resolves when no admitted command is waiting for its answer. */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #onCommand(type: string, partition: number, message: TransportMessage): void {
    const started = process.hrtime.bigint();
    const { maxInFlight, metrics } = this.#options;
    if (this.#closed) {
      this.#finish(message, type, started, errorReply(new RatchetError(ErrorCode.UNAVAILABLE, 'worker is draining')));
      return;
    }
    if (this.#inFlight >= maxInFlight) {
      this.#finish(
        message,
        type,
        started,
        errorReply(new RatchetError(ErrorCode.OVERLOADED, `worker has ${this.#inFlight} commands in flight`)),
      );
      return;
    }
    const aggregate = this.#options.aggregates.get(type) as AnyAggregate;
    let admitted: AdmittedCommand;
    try {
      admitted = this.#admit(aggregate, partition, message);
    } catch (error) {
      this.#finish(message, type, started, errorReply(error));
      return;
    }
    this.#inFlight += 1;
    this.#partitionInFlight.set(partition, (this.#partitionInFlight.get(partition) ?? 0) + 1);
    metrics.inFlight.set(this.#inFlight);
    // A span per command when an OpenTelemetry SDK is registered (a no-op otherwise).
    const span = startCommandSpan({
      side: 'server',
      aggregateType: type,
      aggregateId: admitted.request.id,
      commandType: admitted.request.command.type,
      headers: message.headers ?? natsHeaders(),
    });
    void this.#options
      .dispatch(admitted, aggregate, partition)
      .catch((error: unknown) => {
        if (!(error instanceof RatchetError))
          this.#options.logger.error({ err: error, id: admitted.request.id, type }, 'command failed unexpectedly');
        return errorReply(error);
      })
      .then((reply) => {
        endCommandSpan(span, reply.status, undefined, reply.status === 'error' ? reply.error.code : undefined);
        this.#finish(message, type, started, reply);
        this.#answered(partition);
      });
  }

  /**
   * Parse and validate a request in the protocol's order (docs/protocol.md section 5): size, JSON,
   * envelope, id, then partition, command type and payload schema. Throws the typed error to answer.
   */
  #admit(aggregate: AnyAggregate, partition: number, message: TransportMessage): AdmittedCommand {
    const request = parseCommandRequest(message.data, { maxBytes: this.#options.maxRequestBytes });
    const home = partitionOf(request.id, this.#options.partitionCount);
    if (home !== partition) {
      throw new RatchetError(ErrorCode.WRONG_PARTITION, `aggregate "${request.id}" belongs to partition ${home}, not ${partition}`);
    }
    // Unknown command and payload schema before anything that reads the stream (conflict, reuse, decision).
    const command = parsePayload(aggregate, request.command);
    // The events' metadata (docs/protocol.md section 5): the request's strings, then what the worker
    // sets. `traceparent` comes only from a valid header (section 6): a body key of that name is
    // dropped, since the relay copies it into a JetStream header, where a bad value would stop it.
    const { traceparent: _fromBody, ...given } = request.metadata ?? {};
    const traceparent = message.headers?.get('traceparent');
    const metadata: EventMetadata = {
      ...given,
      commandId: request.commandId,
      correlationId: given.correlationId ?? request.commandId,
      causationId: given.causationId ?? request.commandId,
      ...(validTraceparent(traceparent) ? { traceparent } : {}),
    };
    return { request, command, hash: requestHash(aggregate.type, request), metadata };
  }

  #onProbe(message: TransportMessage): void {
    const [type, partitionToken] = message.subject.slice(UNROUTED_SUBJECT_PREFIX.length + 1).split('.');
    if (type === undefined || partitionToken === undefined) return;
    const { partitionCount } = this.#options;
    let error: RatchetError;
    const p = Number(partitionToken);
    if (!this.#options.aggregates.has(type)) {
      error = new RatchetError(ErrorCode.UNKNOWN_AGGREGATE, `no worker serves aggregate type "${type}"`);
    } else if (!Number.isInteger(p) || p < 0 || p >= partitionCount || String(p) !== partitionToken) {
      error = new RatchetError(ErrorCode.WRONG_PARTITION, `partition "${partitionToken}" does not exist (0..${partitionCount - 1})`);
    } else if (this.serves(p)) {
      // Asked directly, or a handover ended between the client's no-responders and this probe:
      // the retry belongs on the command subject, where this worker answers. The probe never runs commands.
      error = new RatchetError(
        ErrorCode.UNAVAILABLE,
        `partition ${p} of "${type}" is served: send the command to ${commandSubject(type, p)}, not to the probe`,
        {
          details: { partition: p, reason: 'served' },
        },
      );
    } else {
      error = new RatchetError(ErrorCode.UNAVAILABLE, `partition ${p} of "${type}" is between owners (handover or restart); retry`, {
        details: { partition: p, reason: 'unrouted' },
      });
    }
    this.#reply(message, errorReply(error));
  }

  #finish(message: TransportMessage, type: string, started: bigint, reply: CommandReply): void {
    if (reply.status === 'ok') crashPoint(CrashPoint.AFTER_COMMIT_BEFORE_REPLY);
    this.#reply(message, reply);
    const result = reply.status === 'error' ? reply.error.code : reply.status;
    this.#options.metrics.commands.inc({ aggregate: type, result });
    this.#options.metrics.latency.observe({ aggregate: type }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** An admitted command was answered: count it down, wake whoever waits for its partition or for all. */
  #answered(partition: number): void {
    this.#inFlight -= 1;
    this.#options.metrics.inFlight.set(this.#inFlight);
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
    const n = (this.#partitionInFlight.get(partition) ?? 1) - 1;
    this.#partitionInFlight.set(partition, n);
    if (n > 0) return;
    const waiters = this.#partitionIdle.get(partition);
    if (waiters === undefined) return;
    this.#partitionIdle.delete(partition);
    for (const wake of waiters) wake();
  }

  #reply(message: TransportMessage, reply: CommandReply): void {
    if (message.reply === undefined || message.reply === '') return;
    try {
      message.respond(encodeReply(reply));
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'could not send a reply');
    }
  }
}

/**
 * Check the command type and its payload against the aggregate's schema. Issue paths are given from
 * the request body's root (`["command","payload",…]`), like every other issue of the envelope, so a
 * client can find the field in what it sent whichever check found it (docs/protocol.md section 5).
 */
function parsePayload(aggregate: AnyAggregate, command: { readonly type: string; readonly payload: unknown }): ParsedCommand {
  try {
    return aggregate.runtime.parseCommand(command);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const issues = error.issues.map((issue) => ({ ...issue, path: ['command', 'payload', ...issue.path] }));
    const summary = issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ValidationError(`payload of command "${command.type}" is invalid: ${summary}`, issues, { cause: error });
  }
}
