import type { NatsConnection } from '@nats-io/transport-node';
import type { RatchetClient } from '@ratchet/client';
import { DefinitionError, ValidationError } from '@ratchet/core';
import { openJetStream, storeGapReader, type JetStreamOptions } from '@ratchet/projector';
import pg from 'pg';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createCommandSender, type SendPolicy } from './command-sender.js';
import { isProcess, type AnyProcess } from './define-process.js';
import { ProcessFollower, type FollowerSettings, type ProcessPhase } from './process-follower.js';
import { ProcessMetrics } from './process-metrics.js';
import type { ProcessRunnerStore } from './process-runner-store.js';
import { migrateProcessSchema, registerProcess } from './process-schema.js';
import { readParkedTriggers, type ParkedTrigger } from './read-process-states.js';

/** Options of {@link createProcessRunner}. Give `pool` or `connectionString`. */
export interface ProcessRunnerOptions {
  readonly processes: readonly AnyProcess[];
  /** Sends the processes' commands (its partition count must match the workers'). */
  readonly client: Pick<RatchetClient, 'sendRaw'>;
  /** The event store: gaps, parked retries and feed mode read it. */
  readonly store: ProcessRunnerStore;
  /** NATS connection for JetStream; required unless `source` is 'feed'. */
  readonly nats?: NatsConnection;
  /** 'jetstream' (a durable consumer per process) or 'feed' (poll the store's feed; one runner only, e.g. embedded). Default 'jetstream'. */
  readonly source?: 'jetstream' | 'feed';
  /** Pool on the database for the process tables (default: the event store's database); `stop()` leaves it open. */
  readonly pool?: pg.Pool;
  /** Database URL; the runner creates (and `stop()` ends) its own pool. */
  readonly connectionString?: string;
  /** Events per batch while the process keeps up. Default 100. */
  readonly batchSize?: number;
  /** What batches grow to while a backlog waits. Default 1,000 (or `batchSize`, if larger). */
  readonly maxBatchSize?: number;
  /** Rounds of `onRejected` per event before the event is parked. Default 8. */
  readonly maxRounds?: number;
  /** How long a command is retried before its event is parked as `unanswered`. */
  readonly send?: SendPolicy;
  /** Retry events parked as `unanswered` this often (ms); 0 never. Default 30,000. */
  readonly unansweredRetryMs?: number;
  /** JetStream ack wait (ms); batches in progress extend it. Default 30,000. */
  readonly ackWaitMs?: number;
  /** How often the feed is polled when empty, in feed mode (ms). Default 20. */
  readonly feedPollIntervalMs?: number;
  /** Interval of the lag probes (ms). Default 1,000. */
  readonly statsIntervalMs?: number;
  /** JetStream stream. Default RATCHET_EVENTS. */
  readonly streamName?: string;
  /** Event subject prefix. Default 'ratchet.evt'. */
  readonly subjectPrefix?: string;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Metrics, or a registry to create them in. Default: a new registry. */
  readonly metrics?: ProcessMetrics;
  readonly registry?: Registry;
}

/** One process's state in this runner. */
export interface ProcessStatus {
  readonly process: string;
  readonly phase: ProcessPhase;
  /** Events not yet handled (JetStream pending + unacked), as last probed. */
  readonly lagEvents: number;
}

/** Runs process managers: one follower and durable consumer per process. */
export class ProcessRunner {
  readonly metrics: ProcessMetrics;
  readonly #processes: readonly AnyProcess[];
  readonly #client: ProcessRunnerOptions['client'];
  readonly #store: ProcessRunnerStore;
  readonly #sendPolicy: SendPolicy | undefined;
  readonly #maxRounds: number;
  /** Undefined with `source: 'feed'`. */
  readonly #nats: NatsConnection | undefined;
  readonly #jetstreamOptions: JetStreamOptions;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #log: Logger;
  /** What every follower shares but JetStream, which `start()` opens. */
  readonly #followerSettings: Omit<FollowerSettings, 'jetstream'>;
  readonly #followers: ProcessFollower[] = [];
  #started = false;

  constructor(options: ProcessRunnerOptions) {
    const names = new Set<string>();
    options.processes.forEach((p, i) => {
      if (!isProcess(p)) throw new DefinitionError(`processes[${i}] is not a process made by defineProcess`);
      if (names.has(p.name)) throw new ValidationError(`process ${p.name} given twice`, [{ path: ['processes', i], message: 'duplicate' }]);
      names.add(p.name);
    });
    if (options.source !== 'feed' && options.nats === undefined) {
      throw new ValidationError('nats is required', [{ path: ['nats'], message: "required unless source is 'feed'" }]);
    }
    this.#processes = options.processes;
    this.#client = options.client;
    this.#store = options.store;
    this.#sendPolicy = options.send;
    this.#maxRounds = options.maxRounds ?? 8;
    this.#nats = options.source === 'feed' ? undefined : options.nats;
    this.#jetstreamOptions = { streamName: options.streamName, subjectPrefix: options.subjectPrefix, ackWaitMs: options.ackWaitMs };
    this.#ownsPool = options.pool === undefined;
    if (options.pool !== undefined) this.#pool = options.pool;
    else if (options.connectionString !== undefined) {
      // A batch holds one connection while its commands are answered, and journals answers on another.
      this.#pool = new pg.Pool({ connectionString: options.connectionString, max: 2 * options.processes.length + 2 });
      this.#pool.on('error', () => undefined);
    } else {
      throw new ValidationError('pool or connectionString is required', [{ path: ['pool'], message: 'required' }]);
    }
    this.#log = options.logger ?? pino({ level: 'silent' });
    this.metrics = options.metrics ?? new ProcessMetrics(options.registry);
    const batchSize = options.batchSize ?? 100;
    this.#followerSettings = {
      pool: this.#pool,
      store: options.store,
      feedPollIntervalMs: options.feedPollIntervalMs ?? 20,
      statsIntervalMs: options.statsIntervalMs ?? 1_000,
      unansweredRetryMs: options.unansweredRetryMs ?? 30_000,
      batchSize,
      maxBatchSize: options.maxBatchSize ?? Math.max(1_000, batchSize),
      metrics: this.metrics,
      logger: this.#log,
    };
  }

  /** Whether every process follows its source. */
  get ready(): boolean {
    return this.#started && this.#followers.every((f) => f.phase === 'following');
  }

  /** Create the tables, register each process, and start following in the background. */
  async start(): Promise<void> {
    await migrateProcessSchema(this.#pool);
    const jetstream = this.#nats === undefined ? undefined : await openJetStream(this.#nats, this.#jetstreamOptions);
    const settings: FollowerSettings = { ...this.#followerSettings, jetstream };
    for (const p of this.#processes) {
      await registerProcess(this.#pool, p.name, p.aggregateTypes);
      const follower = new ProcessFollower(p, settings, {
        process: p,
        pool: this.#pool,
        readGap: storeGapReader(this.#store),
        send: createCommandSender(this.#client, p.name, this.#sendPolicy),
        maxRounds: this.#maxRounds,
      });
      await follower.refreshParked();
      follower.start();
      this.#followers.push(follower);
    }
    this.#started = true;
  }

  /** Each process's phase and lag. */
  status(): ProcessStatus[] {
    return this.#followers.map((f) => ({ process: f.process.name, phase: f.phase, lagEvents: f.lagEvents }));
  }

  /** Parked events, oldest first, of one process or all. */
  listParked(name?: string): Promise<ParkedTrigger[]> {
    return readParkedTriggers(this.#pool, name);
  }

  /** Run a process's parked streams again (after a fix, or once the targets answer), each from its parked event to its end. */
  async retryParked(name: string, streamId?: string): Promise<{ released: string[]; stillParked: string[] }> {
    const follower = this.#followers.find((f) => f.process.name === name);
    if (follower === undefined) throw new ValidationError(`process ${name} is not run here`, [{ path: ['name'], message: 'unknown' }]);
    return follower.retryParked(streamId === undefined ? {} : { streamId });
  }

  /** Drain: stop pulling, finish the batches in hand (their commands answered, committed, acked); after `drainMs` cut them short. */
  async stop(drainMs = 10_000): Promise<void> {
    await Promise.all(this.#followers.map((f) => f.stop(drainMs)));
    if (this.#ownsPool) await this.#pool.end();
  }
}

/**
 * Create a runner for process managers; `start()` it, `stop()` it to drain. The projector service
 * runs its app's processes this way.
 * @example
 * const runner = createProcessRunner({ nats, client, store, pool, processes: app.processes });
 * await runner.start();
 */
export function createProcessRunner(options: ProcessRunnerOptions): ProcessRunner {
  return new ProcessRunner(options);
}
