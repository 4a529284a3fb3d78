import { randomUUID } from 'node:crypto';
import { DefinitionError, hasSensitiveFields, type AnyAggregate } from '@ratchet/core';
import { jetstreamManager } from '@nats-io/jetstream';
import type { StoredTimer } from '@ratchet/event-store-postgres';
import { ensureEventsStreamPatiently, parseStreamId, streamIdOf, type CommandReply } from '@ratchet/transport-nats';
import { pino, type Logger } from 'pino';
import { ActorActivation } from './actor-activation.js';
import { ActorCache } from './actor-cache.js';
import { AggregateActor } from './aggregate-actor.js';
import { ClusterOwnership } from './cluster-ownership.js';
import { CommandIntake } from './command-intake.js';
import { CommitTimes } from './commit-times.js';
import { CrashPoint, crashPoint } from './crash-point.js';
import { GroupCommitter } from './group-committer.js';
import type { AdmittedCommand } from './handle-command.js';
import { handleTimer, type TimerHandlerContext } from './handle-timer.js';
import { openingStore } from './opening-store.js';
import { OutboxRelay } from './outbox-relay.js';
import { StaticOwnership, type PartitionOwnership } from './ownership.js';
import { PartitionLeases } from './partition-leases.js';
import { SealingCommitter } from './sealing-committer.js';
import { TimerScheduler } from './timer-scheduler.js';
import { WorkerMetrics } from './worker-metrics.js';
import type { WorkerOptions } from './worker-options.js';

/** Counters a test or a status page can read. */
export interface WorkerStats {
  readonly inFlight: number;
  readonly residentActors: number;
  /** Passivated actors kept in memory in their persisted form (the passivated tier). */
  readonly passivatedActors: number;
  /** Actors loaded from the store (snapshot and/or events); reactivations from the passivated tier are not counted here. */
  readonly activations: number;
  readonly snapshotActivations: number;
  /** Actors reactivated from the passivated tier (its state, then the tail read from the store; no snapshot load). */
  readonly passivatedActivations: number;
  readonly passivations: number;
  readonly published: number;
  readonly outboxLag: number;
  readonly fencedWrites: number;
  /** Commands answered UNAVAILABLE because the partition's lease had lapsed (e.g. after a pause). */
  readonly leaseRefusals: number;
  readonly partitionsOwned: number;
  readonly partitionMoves: number;
  /** Durable timers handed to a fire so far. */
  readonly timersFired: number;
}

/**
 * A running worker: it owns partitions (alone, or by membership), takes their commands
 * (`CommandIntake`), runs each on its aggregate's actor (`handleCommand`, state from
 * `ActorActivation`), commits in groups (`GroupCommitter`) and relays committed events to
 * JetStream (`OutboxRelay`). This class wires them, starts, drains and reports.
 */
export class Worker {
  readonly id: string;
  readonly metrics: WorkerMetrics;
  readonly #options: WorkerOptions;
  readonly #log: Logger;
  readonly #partitionCount: number;
  readonly #actors: ActorCache;
  readonly #activation: ActorActivation;
  readonly #committer: GroupCommitter;
  readonly #leases: PartitionLeases;
  readonly #intake: CommandIntake;
  readonly #handler: TimerHandlerContext;
  readonly #timers: TimerScheduler | undefined;
  readonly #commitTimes = new CommitTimes();
  #relay: OutboxRelay | undefined;
  #ownership: PartitionOwnership | undefined;
  #cluster: ClusterOwnership | undefined;
  #started = false;
  #draining = false;
  #sweeper: NodeJS.Timeout | undefined;
  #fencedWrites = 0;
  /** Stops hearing forgets (only when an aggregate has sensitive fields). */
  #forgets: (() => Promise<void>) | undefined;

  constructor(options: WorkerOptions) {
    this.#options = options;
    this.id = options.workerId ?? randomUUID();
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ worker: this.id });
    this.metrics = options.metrics ?? new WorkerMetrics();
    this.#partitionCount = options.partitionCount ?? 64;
    // Sensitive fields (docs/sensitive-data.md): events sealed before they are appended, opened
    // when read; the store's cipher unless one is given.
    const cipher = options.cipher ?? options.store.cipher;
    const byType = new Map(options.aggregates.map((a) => [a.type, a]));
    const aggregateOf = (streamId: string): AnyAggregate | undefined => byType.get(streamId.slice(0, streamId.indexOf('/')));
    const sensitive = options.aggregates.filter(hasSensitiveFields).map((a) => a.type);
    if (sensitive.length > 0 && cipher === undefined) {
      throw new DefinitionError(
        `aggregates ${sensitive.join(', ')} have sensitive fields: give the worker a store with a cipher (or the cipher option)`,
      );
    }
    this.#activation = new ActorActivation({
      store: cipher === undefined ? options.store : openingStore(options.store, cipher, aggregateOf),
      maxPassivated: options.maxPassivatedActors,
      snapshotEvery: options.snapshotEvery,
      serves: (partition) => this.#intake.serves(partition) && !this.#draining,
      metrics: this.metrics,
      logger: this.#log,
    });
    this.#actors = new ActorCache({
      maxResident: options.maxResidentActors,
      idleTimeoutMs: options.idleTimeoutMs,
      onPassivate: (actor) => this.#activation.passivated(actor),
    });
    const peers = options.cluster?.peers;
    this.#leases = new PartitionLeases({
      store: options.store,
      owner: this.id,
      leaseMs: options.partitionLeaseMs,
      logger: this.#log,
      ...(peers === undefined ? {} : { connectionId: () => peers.connectionId() }),
      onLost: (partition) => {
        this.#log.warn({ partition }, 'partition lease lost: another worker holds a newer epoch');
        this.#partitionLost(partition);
      },
    });
    this.#committer = new GroupCommitter(options.store, {
      ...options.groupCommit,
      onBatch: (size, seconds) => {
        this.metrics.batchSize.observe(size);
        this.metrics.batchSeconds.observe(seconds);
      },
      afterCommit: (_requests, outcomes) => {
        crashPoint(CrashPoint.AFTER_COMMIT_BEFORE_PUBLISH);
        this.#commitTimes.noteBatch(outcomes);
        this.#relay?.notify();
      },
    });
    this.#handler = {
      ownership: {
        fenceFor: (partition) => this.#ownership?.fenceFor(partition),
        holds: (partition) => this.#ownership?.holds(partition) ?? false,
      },
      activation: this.#activation,
      committer:
        cipher === undefined || sensitive.length === 0
          ? this.#committer
          : new SealingCommitter(this.#committer, cipher, aggregateOf, (streamId) =>
              this.#actors.dropWhere((a) => a.streamId === streamId),
            ),
      store: options.store,
      onLeaseRefused: () => this.metrics.leaseRefusals.inc(),
      onFenced: (partition, error) => {
        this.#fencedWrites += 1;
        this.metrics.fencedWrites.inc();
        this.#log.warn({ partition, err: error }, 'fenced: another worker owns this partition now');
        this.#partitionLost(partition);
      },
      onTimersStarted: (dueInMs) => this.#timers?.wake(dueInMs),
      timers: options.store,
    };
    this.#timers =
      options.timers === false
        ? undefined
        : new TimerScheduler({
            store: options.store,
            partitions: () => (this.#draining ? [] : this.#intake.served()),
            fire: (timer) => this.#fireTimer(timer),
            pollIntervalMs: options.timers?.pollIntervalMs,
            maxInFlight: options.timers?.maxInFlight,
            logger: this.#log,
          });
    this.#intake = new CommandIntake({
      transport: options.nats,
      queueGroup: options.queueGroup ?? 'ratchet-workers',
      aggregates: new Map(options.aggregates.map((a) => [a.type, a])),
      partitionCount: this.#partitionCount,
      maxInFlight: options.maxInFlight ?? 4_096,
      maxRequestBytes: options.maxRequestBytes ?? 65_536,
      dispatch: (admitted, aggregate, partition) => this.#dispatch(admitted, aggregate, partition),
      metrics: this.metrics,
      logger: this.#log,
    });
  }

  /** Numbers for tests and status pages. */
  stats(): WorkerStats {
    return {
      inFlight: this.#intake.inFlight,
      residentActors: this.#actors.size,
      passivatedActors: this.#activation.passivatedCount,
      ...this.#activation.stats(),
      published: this.#relay?.published ?? 0,
      outboxLag: this.#relay?.lag ?? 0,
      fencedWrites: this.#fencedWrites,
      leaseRefusals: this.#leases.refusals,
      partitionsOwned: this.#intake.served().length,
      partitionMoves: this.#cluster?.moves ?? 0,
      timersFired: this.#timers?.fired ?? 0,
    };
  }

  /** Partitions served here now, with the fencing epoch each is written under. */
  ownedPartitions(): Array<{ partition: number; epoch: number }> {
    return this.#intake.served().map((partition) => ({ partition, epoch: this.#ownership?.fenceFor(partition)?.epoch ?? 0 }));
  }

  /** The assignment this worker computed from the member set (cluster mode), owner per partition. */
  assignment(): readonly string[] {
    return this.#cluster?.assignment() ?? [];
  }

  /** Whether the worker takes commands: started, not draining, and (in a cluster) serving its whole share. */
  get ready(): boolean {
    if (!this.#started || this.#draining) return false;
    return this.#cluster === undefined ? this.#intake.served().length > 0 : this.#cluster.settled;
  }

  /** Claim partitions (unless an ownership was given), subscribe, start the relay and the idle sweep. */
  async start(): Promise<void> {
    const options = this.#options;
    this.#intake.openProbe();
    if ((options.relay ?? true) && options.jetstream !== undefined) {
      await ensureEventsStreamPatiently(await jetstreamManager(options.jetstream), {
        replicas: options.eventsStreamReplicas ?? 1,
        onRetry: (err, remainingMs) =>
          this.#log.warn({ err, remainingMs }, 'JetStream does not answer yet (a cluster still forming?): asking again'),
      });
      this.#relay = new OutboxRelay({
        store: options.store,
        nats: options.jetstream,
        holder: this.id,
        logger: this.#log,
        pollIntervalMs: options.relayPollIntervalMs,
        leaseTtlMs: options.relayLeaseTtlMs,
        onProgress: (n, lag) => {
          this.metrics.published.inc(n);
          this.metrics.outboxLag.set(lag);
        },
        commitTimeOf: (transactionId) => this.#commitTimes.of(transactionId),
        onEventLag: (ms) => this.metrics.outboxLagSeconds.observe(ms / 1000),
      });
      this.#relay.start();
    }
    const sweepEvery = Math.max(1_000, Math.min(60_000, (options.idleTimeoutMs ?? 300_000) / 2));
    this.#sweeper = setInterval(() => {
      this.#actors.sweep();
      this.metrics.residentActors.set(this.#actors.size);
      this.metrics.passivatedActors.set(this.#activation.passivatedCount);
    }, sweepEvery);
    this.#sweeper.unref();
    if (options.cluster !== undefined) {
      const cluster = new ClusterOwnership({
        workerId: this.id,
        partitionCount: this.#partitionCount,
        membership: options.cluster.membership,
        assign: options.cluster.assign,
        store: options.store,
        leases: this.#leases,
        logger: this.#log,
        movesPerSecond: options.cluster.movesPerSecond,
        handoverTimeoutMs: options.cluster.handoverTimeoutMs,
        ...(options.cluster.peers === undefined ? {} : { peers: options.cluster.peers }),
        ...(options.cluster.peerCheckIntervalMs === undefined ? {} : { peerCheckIntervalMs: options.cluster.peerCheckIntervalMs }),
        onMove: (kind) => {
          this.metrics.partitionMoves.inc({ kind });
          this.metrics.partitionsOwned.set(this.#intake.served().length);
        },
      });
      this.#cluster = cluster;
      this.#ownership = cluster;
      cluster.start({ serve: (p) => this.#serve(p), unserve: (p) => this.#unserve(p) });
    } else {
      this.#ownership = options.ownership ?? (await StaticOwnership.claimAll(this.#leases, this.#partitionCount, this.#log));
      for (let p = 0; p < this.#partitionCount; p += 1) this.#serve(p);
    }
    this.#timers?.start();
    this.#hearForgets();
    this.#started = true;
    this.#log.info({ partitions: this.#partitionCount, types: options.aggregates.map((a) => a.type) }, 'worker started');
  }

  /**
   * Drain: stop taking commands, answer those in flight, let the relay publish what is committed,
   * then stop. Resolves true when everything finished within the deadline.
   */
  async drain(deadlineMs = 10_000): Promise<boolean> {
    const until = Date.now() + deadlineMs;
    const left = (): number => Math.max(0, until - Date.now());
    const cluster = this.#options.cluster;
    if (this.#cluster !== undefined && cluster !== undefined) {
      // Announce the exit first so peers compute the new assignment, then hand each partition
      // over: stop taking its commands, finish those in flight, release its epoch.
      await cluster.membership.leave().catch((error: unknown) => this.#log.warn({ err: error }, 'leave not announced'));
      this.#draining = true;
      await this.#timers?.stop();
      this.#intake.close();
      await this.#cluster.leave();
    } else {
      this.#draining = true;
      await this.#timers?.stop();
      this.#intake.close();
      await Promise.all(this.#intake.served().map((p) => this.#unserve(p, left())));
    }
    await this.#intake.closeProbe();
    const answered = await Promise.race([
      this.#intake.whenIdle().then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), left()).unref()),
    ]);
    await this.#committer.idle();
    // Static ownership: hand the partitions back now rather than make a successor wait for the leases.
    if (this.#cluster === undefined) await this.#ownership?.releaseAll();
    let relayed = true;
    if (this.#relay !== undefined) {
      relayed = await this.#relay.catchUp(left());
      await this.#relay.stop();
    }
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    await this.#forgets?.();
    await cluster?.membership.stop().catch(() => undefined);
    this.#log.info({ answered, relayed }, 'worker drained');
    return answered;
  }

  /** Drop the actors of a partition this worker no longer owns, live and passivated; returns how many live ones. */
  dropPartition(partition: number): number {
    const dropped = this.#actors.dropWhere((a) => a.partition === partition);
    // After the live ones: a dropped actor has no state, so it is not kept as passivated either.
    this.#activation.dropPartition(partition);
    return dropped;
  }

  /**
   * A subject was forgotten (or forgets may have been missed): actors of aggregates with sensitive
   * fields drop their state and reload, so `decide` sees the placeholder from then on. Again a
   * moment later, for states that commands in flight at the forget had already decided.
   */
  #hearForgets(): void {
    const cipher = this.#options.cipher ?? this.#options.store.cipher;
    if (cipher === undefined || !this.#options.aggregates.some(hasSensitiveFields)) return;
    const drop = (): number => this.#actors.dropWhere((actor) => hasSensitiveFields(actor.aggregate));
    this.#forgets = cipher.onForget(() => {
      drop();
      setTimeout(drop, 1_000).unref();
    });
  }

  /** Run an admitted command on its aggregate's actor, decided after the commands queued before it (pipelined). */
  #dispatch(admitted: AdmittedCommand, aggregate: AnyAggregate, partition: number): Promise<CommandReply> {
    const streamId = streamIdOf(aggregate.type, admitted.request.id);
    const actor = this.#actors.get(streamId, () => new AggregateActor(aggregate, admitted.request.id, streamId, partition));
    return actor.submit(this.#handler, admitted, this.#options.pipelineDepth ?? 32);
  }

  /** Fire a due timer on its aggregate's actor, after the commands queued before it; false when it must wait. */
  #fireTimer(timer: StoredTimer): Promise<boolean> {
    const { aggregateType, aggregateId } = parseStreamId(timer.streamId);
    const aggregate = this.#options.aggregates.find((a) => a.type === aggregateType);
    if (aggregate === undefined) {
      this.#log.warn({ streamId: timer.streamId, timerId: timer.timerId }, 'a timer of an aggregate type this worker does not serve');
      return Promise.resolve(false);
    }
    const actor = this.#actors.get(timer.streamId, () => new AggregateActor(aggregate, aggregateId, timer.streamId, timer.partition));
    return new Promise((resolve, reject) =>
      actor.enqueue(() =>
        handleTimer(this.#handler, actor, timer).then((outcome) => {
          this.metrics.timerFires.inc({ kind: timer.kind, outcome });
          if (outcome === 'fired') this.metrics.timerLateness.observe(Math.max(0, Date.now() - timer.dueAt.getTime()) / 1000);
          resolve(outcome !== 'not-owner' && outcome !== 'failed');
        }, reject),
      ),
    );
  }

  #serve(partition: number): void {
    if (this.#draining) return;
    this.#intake.serve(partition);
    this.metrics.partitionsOwned.set(this.#intake.served().length);
  }

  /** Stop taking commands for a partition, answer those in flight, drop its actors. */
  async #unserve(partition: number, deadlineMs = 10_000): Promise<void> {
    await this.#intake.unserve(partition, deadlineMs);
    this.dropPartition(partition);
    this.metrics.partitionsOwned.set(this.#intake.served().length);
  }

  /** Another worker holds `partition` now: stop serving it (cluster ownership also reconciles) and drop its actors. */
  #partitionLost(partition: number): void {
    this.#ownership?.lost(partition);
    if (this.#cluster === undefined) void this.#unserve(partition, 0);
    this.dropPartition(partition);
  }
}

/**
 * Create a worker serving the given aggregates over NATS, committing to Postgres.
 * @example
 * const worker = createWorker({ nats, jetstream: nats, store, aggregates: [Turnstile] });
 * await worker.start();
 * process.on('SIGTERM', () => worker.drain());
 */
export function createWorker(options: WorkerOptions): Worker {
  return new Worker(options);
}
