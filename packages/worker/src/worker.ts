import { randomUUID } from 'node:crypto';
import {
  ErrorCode,
  RatchetError,
  type AnyAggregate,
  type AggregateState,
  type EventMetadata,
  type PersistedState,
  type RecordedEvent,
} from '@ratchet/core';
import type { AppendOutcome, AppendRequest, AppendResult, PostgresEventStore } from '@ratchet/event-store-postgres';
import { jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  commandSubject,
  encodeReply,
  endCommandSpan,
  ensureEventsStream,
  errorReply,
  parseCommandRequest,
  partitionOf,
  requestHash,
  startCommandSpan,
  streamIdOf,
  UNROUTED_SUBJECT_PREFIX,
  type CommandReply,
  type CommandRequest,
} from '@ratchet/transport-nats';
import { pino, type Logger } from 'pino';
import { ActorCache } from './actor-cache.js';
import { AggregateActor } from './aggregate-actor.js';
import { CrashPoint, crashPoint } from './crash-point.js';
import { PassivatedCache } from './passivated-cache.js';
import { GroupCommitter, type GroupCommitterOptions } from './group-committer.js';
import { OutboxRelay } from './outbox-relay.js';
import { ClusterOwnership, type MembershipView } from './cluster-ownership.js';
import { StaticOwnership, type PartitionOwnership } from './ownership.js';
import { PartitionLeases } from './partition-leases.js';
import { WorkerMetrics } from './worker-metrics.js';

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /** Connected NATS client (the worker does not close it). */
  readonly nats: NatsConnection;
  /** Migrated event store (the worker does not close it). */
  readonly store: PostgresEventStore;
  /** The aggregate types this worker serves. */
  readonly aggregates: readonly AnyAggregate[];
  /** Stable name of this worker; default a random UUID. */
  readonly workerId?: string;
  /** Partitions in the cluster; must match every client. Default 64. */
  readonly partitionCount?: number;
  /** Who owns which partition; default: claim all of them (one worker), or follow `cluster`. */
  readonly ownership?: PartitionOwnership;
  /**
   * Partition lease length in ms (Postgres's clock): another worker can claim a partition this long
   * after this one last renewed it; locally the lease ends a fifth earlier, and past it the worker
   * answers UNAVAILABLE instead of answering from memory. Renewed every fifth. Default 5,000.
   */
  readonly partitionLeaseMs?: number;
  /** Share partitions with other workers by membership (see docs/operations.md). */
  readonly cluster?: WorkerClusterOptions;
  /** NATS queue group the command subscriptions join. Default 'ratchet-workers'. */
  readonly queueGroup?: string;
  /** Group commit tuning. */
  readonly groupCommit?: GroupCommitterOptions;
  /** Save a snapshot every this many events per aggregate. Default 100. */
  readonly snapshotEvery?: number;
  /** Most actors kept in memory. Default 100,000. */
  readonly maxResidentActors?: number;
  /** Passivate actors idle this long (ms). Default 300,000. */
  readonly idleTimeoutMs?: number;
  /**
   * Most passivated actors kept in their compact persisted form, so reactivation reads only the
   * events after it instead of loading a snapshot (LRU past it). 0 disables. Default 1,000,000.
   */
  readonly maxPassivatedActors?: number;
  /** Most commands admitted and not yet answered; more get OVERLOADED. Default 4,096. */
  readonly maxInFlight?: number;
  /** Largest request body in bytes. Default 65,536. */
  readonly maxRequestBytes?: number;
  /** Run the outbox relay in this worker (one relay is active cluster-wide, by lease). Default true. */
  readonly relay?: boolean;
  /** Replicas of the RATCHET_EVENTS stream when the worker creates it. Default 1. */
  readonly eventsStreamReplicas?: number;
  /** Relay tuning: poll interval and lease TTL (ms). */
  readonly relayPollIntervalMs?: number;
  readonly relayLeaseTtlMs?: number;
  /** Logger; default silent. */
  readonly logger?: Logger;
  /** Metrics; default a fresh registry. */
  readonly metrics?: WorkerMetrics;
}

/** Membership-driven partition ownership. */
export interface WorkerClusterOptions {
  /** Live members; `leave` announces a planned exit, `stop` ends heartbeats. */
  readonly membership: MembershipView & { leave(): Promise<void>; stop(): Promise<void> };
  /** Owner per partition for a member set (the same function on every worker). */
  readonly assign: (members: readonly string[], partitionCount: number) => readonly string[];
  /** Most partitions taken over per second. Default 32. */
  readonly movesPerSecond?: number;
  /** How long to wait for a live previous owner to release before trying to claim (ms); the claim still waits for its lease. Default 5,000. */
  readonly handoverTimeoutMs?: number;
}

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
}

const MAX_INTERNAL_RETRIES = 3;

/** A running worker. */
export class Worker {
  readonly id: string;
  readonly metrics: WorkerMetrics;
  readonly #o: WorkerOptions;
  readonly #log: Logger;
  readonly #types = new Map<string, AnyAggregate>();
  readonly #partitionCount: number;
  readonly #maxInFlight: number;
  readonly #maxRequestBytes: number;
  readonly #snapshotEvery: number;
  readonly #actors: ActorCache;
  readonly #passivated: PassivatedCache;
  readonly #committer: GroupCommitter;
  readonly #leases: PartitionLeases;
  #relay: OutboxRelay | undefined;
  #ownership: PartitionOwnership | undefined;
  #cluster: ClusterOwnership | undefined;
  #fallback: Subscription | undefined;
  readonly #partitionSubs = new Map<number, Subscription[]>();
  readonly #partitionInFlight = new Map<number, number>();
  readonly #partitionIdle = new Map<number, Array<() => void>>();
  #started = false;
  #sweeper: NodeJS.Timeout | undefined;
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  #draining = false;
  #purging = false;
  #stats = { activations: 0, snapshotActivations: 0, passivatedActivations: 0, passivations: 0, fencedWrites: 0 };

  constructor(options: WorkerOptions) {
    this.#o = options;
    this.id = options.workerId ?? randomUUID();
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ worker: this.id });
    this.metrics = options.metrics ?? new WorkerMetrics();
    this.#partitionCount = options.partitionCount ?? 64;
    this.#maxInFlight = options.maxInFlight ?? 4096;
    this.#maxRequestBytes = options.maxRequestBytes ?? 65_536;
    this.#snapshotEvery = options.snapshotEvery ?? 100;
    for (const aggregate of options.aggregates) this.#types.set(aggregate.type, aggregate);
    this.#passivated = new PassivatedCache({ maxEntries: options.maxPassivatedActors });
    this.#actors = new ActorCache({
      maxResident: options.maxResidentActors,
      idleTimeoutMs: options.idleTimeoutMs,
      onPassivate: (actor) => {
        this.#stats.passivations += 1;
        this.metrics.passivations.inc();
        this.#keepPassivated(actor);
      },
    });
    this.#leases = new PartitionLeases({
      store: options.store,
      owner: this.id,
      leaseMs: options.partitionLeaseMs,
      logger: this.#log,
      onLost: (partition) => this.#onLeaseLost(partition),
    });
    this.#committer = new GroupCommitter(options.store, {
      ...options.groupCommit,
      onBatch: (size, seconds) => {
        this.metrics.batchSize.observe(size);
        this.metrics.batchSeconds.observe(seconds);
      },
      afterCommit: (_requests, outcomes) => {
        crashPoint(CrashPoint.AFTER_COMMIT_BEFORE_PUBLISH);
        this.#noteCommit(outcomes);
        this.#relay?.notify();
      },
    });
  }

  /** When recent transactions of this worker committed (performance.now()), for the outbox lag metric; bounded. */
  readonly #commitTimes = new Map<string, number>();

  #noteCommit(outcomes: readonly AppendOutcome[]): void {
    for (const o of outcomes) {
      if (!o.ok || o.result.duplicate) continue;
      const transactionId = o.result.events[0]?.transactionId;
      if (transactionId === undefined) continue;
      this.#commitTimes.set(transactionId, performance.now());
      if (this.#commitTimes.size > 4_096) this.#commitTimes.delete(this.#commitTimes.keys().next().value as string);
      return; // one transaction per batch
    }
  }

  /** Numbers for tests and status pages. */
  stats(): WorkerStats {
    return {
      inFlight: this.#inFlight,
      residentActors: this.#actors.size,
      passivatedActors: this.#passivated.size,
      activations: this.#stats.activations,
      snapshotActivations: this.#stats.snapshotActivations,
      passivatedActivations: this.#stats.passivatedActivations,
      passivations: this.#stats.passivations,
      published: this.#relay?.published ?? 0,
      outboxLag: this.#relay?.lag ?? 0,
      fencedWrites: this.#stats.fencedWrites,
      leaseRefusals: this.#leases.refusals,
      partitionsOwned: this.#partitionSubs.size,
      partitionMoves: this.#cluster?.moves ?? 0,
    };
  }

  /** Partitions served here now, with the fencing epoch each is written under. */
  ownedPartitions(): Array<{ partition: number; epoch: number }> {
    return [...this.#partitionSubs.keys()]
      .sort((a, b) => a - b)
      .map((partition) => ({ partition, epoch: this.#ownership?.fenceFor(partition)?.epoch ?? 0 }));
  }

  /** The assignment this worker computed from the member set (cluster mode), owner per partition. */
  assignment(): readonly string[] {
    return this.#cluster?.assignment() ?? [];
  }

  /** Whether the worker takes commands: started, not draining, and (in a cluster) serving its whole share. */
  get ready(): boolean {
    if (!this.#started || this.#draining) return false;
    return this.#cluster === undefined ? this.#partitionSubs.size > 0 : this.#cluster.settled;
  }

  /** Claim partitions (unless an ownership was given), subscribe, start the relay and the idle sweep. */
  async start(): Promise<void> {
    const queue = this.#o.queueGroup ?? 'ratchet-workers';
    // A client whose command had no responders asks here why: an aggregate type nobody serves, a
    // partition that does not exist, or one between owners (retryable). Commands themselves reach
    // only their partition's subscription.
    this.#fallback = this.#o.nats.subscribe(`${UNROUTED_SUBJECT_PREFIX}.*.*`, {
      queue: `${queue}-fallback`,
      callback: (_err, msg) => this.#onFallback(msg),
    });
    if (this.#o.relay ?? true) {
      await ensureEventsStream(await jetstreamManager(this.#o.nats), { replicas: this.#o.eventsStreamReplicas ?? 1 });
      this.#relay = new OutboxRelay({
        store: this.#o.store,
        nats: this.#o.nats,
        holder: this.id,
        logger: this.#log,
        pollIntervalMs: this.#o.relayPollIntervalMs,
        leaseTtlMs: this.#o.relayLeaseTtlMs,
        onProgress: (n, lag) => {
          this.metrics.published.inc(n);
          this.metrics.outboxLag.set(lag);
        },
        commitTimeOf: (transactionId) => this.#commitTimes.get(transactionId),
        onEventLag: (ms) => this.metrics.outboxLagSeconds.observe(ms / 1000),
      });
      this.#relay.start();
    }
    const sweepEvery = Math.max(1_000, Math.min(60_000, (this.#o.idleTimeoutMs ?? 300_000) / 2));
    this.#sweeper = setInterval(() => {
      this.#actors.sweep();
      this.metrics.residentActors.set(this.#actors.size);
      this.metrics.passivatedActors.set(this.#passivated.size);
    }, sweepEvery);
    this.#sweeper.unref();
    if (this.#o.cluster !== undefined) {
      const cluster = new ClusterOwnership({
        workerId: this.id,
        partitionCount: this.#partitionCount,
        membership: this.#o.cluster.membership,
        assign: this.#o.cluster.assign,
        store: this.#o.store,
        leases: this.#leases,
        logger: this.#log,
        movesPerSecond: this.#o.cluster.movesPerSecond,
        handoverTimeoutMs: this.#o.cluster.handoverTimeoutMs,
        onMove: (kind) => {
          this.metrics.partitionMoves.inc({ kind });
          this.metrics.partitionsOwned.set(this.#partitionSubs.size);
        },
      });
      this.#cluster = cluster;
      this.#ownership = cluster;
      cluster.start({ serve: (p) => this.#serve(p), unserve: (p) => this.#unserve(p) });
    } else {
      this.#ownership = this.#o.ownership ?? (await StaticOwnership.claimAll(this.#leases, this.#partitionCount, this.#log));
      for (let p = 0; p < this.#partitionCount; p += 1) this.#serve(p);
      this.metrics.partitionsOwned.set(this.#partitionSubs.size);
    }
    this.#started = true;
    this.#log.info({ partitions: this.#partitionCount, types: [...this.#types.keys()] }, 'worker started');
  }

  /** Start taking commands for a partition: one queue subscription per aggregate type. */
  #serve(partition: number): void {
    if (this.#partitionSubs.has(partition) || this.#draining) return;
    const queue = this.#o.queueGroup ?? 'ratchet-workers';
    const subs = [...this.#types.keys()].map((type) =>
      this.#o.nats.subscribe(commandSubject(type, partition), {
        queue,
        callback: (_err, msg) => this.#onCommand(type, partition, msg),
      }),
    );
    this.#partitionSubs.set(partition, subs);
  }

  /** Stop taking commands for a partition, answer those in flight, drop its actors. */
  async #unserve(partition: number, deadlineMs = 10_000): Promise<void> {
    const subs = this.#partitionSubs.get(partition);
    if (subs === undefined) return;
    this.#partitionSubs.delete(partition);
    await Promise.all(subs.map((s) => s.drain().catch(() => undefined)));
    if ((this.#partitionInFlight.get(partition) ?? 0) > 0) {
      await Promise.race([
        new Promise<void>((resolve) => {
          const list = this.#partitionIdle.get(partition) ?? [];
          list.push(resolve);
          this.#partitionIdle.set(partition, list);
        }),
        new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref()),
      ]);
    }
    this.dropPartition(partition);
    this.metrics.partitionsOwned.set(this.#partitionSubs.size);
  }

  /**
   * Drain: stop taking commands, answer those in flight, let the relay publish what is committed,
   * then stop. Resolves true when everything finished within the deadline.
   */
  async drain(deadlineMs = 10_000): Promise<boolean> {
    const until = Date.now() + deadlineMs;
    if (this.#cluster !== undefined && this.#o.cluster !== undefined) {
      // Announce the exit first so peers compute the new assignment, then hand each partition
      // over: stop taking its commands, finish those in flight, release its epoch.
      await this.#o.cluster.membership.leave().catch((error: unknown) => this.#log.warn({ err: error }, 'leave not announced'));
      this.#draining = true;
      await this.#cluster.leave();
    } else {
      this.#draining = true;
      await Promise.all([...this.#partitionSubs.keys()].map((p) => this.#unserve(p, Math.max(0, until - Date.now()))));
    }
    await this.#fallback?.drain().catch(() => undefined);
    const answered = await Promise.race([
      this.#whenIdle().then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), Math.max(0, until - Date.now())).unref()),
    ]);
    await this.#committer.idle();
    // Static ownership: hand the partitions back now rather than make a successor wait for the leases.
    if (this.#cluster === undefined) await this.#ownership?.releaseAll();
    let relayed = true;
    if (this.#relay !== undefined) {
      relayed = await this.#relay.catchUp(Math.max(0, until - Date.now()));
      await this.#relay.stop();
    }
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    await this.#o.cluster?.membership.stop().catch(() => undefined);
    this.#log.info({ answered, relayed }, 'worker drained');
    return answered;
  }

  /** Drop the actors of a partition this worker no longer owns, live and passivated; returns how many live ones. */
  dropPartition(partition: number): number {
    const dropped = this.#actors.dropWhere((a) => a.partition === partition);
    // After the live ones: a dropped actor has no state, so it is not kept as passivated either.
    // O(1): the entries are unusable at once; their memory is freed in the background.
    if (this.#passivated.dropPartition(partition) > 0) this.#purgePassivatedSoon();
    return dropped;
  }

  /** Free invalidated passivated entries a slice per event-loop turn, so a million of them never stall commands. */
  #purgePassivatedSoon(): void {
    if (this.#purging) return;
    this.#purging = true;
    const slice = (): void => {
      if (this.#passivated.purge(20_000)) this.#purging = false;
      else setImmediate(slice).unref();
    };
    setImmediate(slice).unref();
  }

  /**
   * Keep a passivated actor's persisted form so it can come back without a snapshot load. Only a
   * known, committed state of a partition served here now; the tail read on reactivation brings it
   * up to date (events are append-only), and the append's expected version guards the rest.
   */
  #keepPassivated(actor: AggregateActor): void {
    const state = actor.state;
    if (state === undefined || state.version === 0 || !this.#passivated.enabled) return;
    if (!this.#partitionSubs.has(actor.partition) || this.#draining) return;
    try {
      this.#passivated.put(actor.streamId, actor.partition, {
        version: state.version,
        snapshotVersion: actor.snapshotVersion,
        state: actor.aggregate.persist(state),
      });
    } catch (error) {
      this.#log.warn({ err: error, streamId: actor.streamId }, 'passivated actor not kept');
    }
  }

  #whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #onFallback(msg: Msg): void {
    const [type, partitionToken] = msg.subject.slice(UNROUTED_SUBJECT_PREFIX.length + 1).split('.');
    if (type === undefined || partitionToken === undefined) return;
    if (!this.#types.has(type)) {
      this.#reply(msg, errorReply(new RatchetError(ErrorCode.UNKNOWN_AGGREGATE, `no worker serves aggregate type "${type}"`)));
      return;
    }
    const p = Number(partitionToken);
    if (!Number.isInteger(p) || p < 0 || p >= this.#partitionCount || String(p) !== partitionToken) {
      this.#reply(
        msg,
        errorReply(
          new RatchetError(ErrorCode.WRONG_PARTITION, `partition "${partitionToken}" does not exist (0..${this.#partitionCount - 1})`),
        ),
      );
      return;
    }
    this.#reply(
      msg,
      errorReply(
        new RatchetError(ErrorCode.UNAVAILABLE, `partition ${p} of "${type}" is between owners (handover or restart); retry`, {
          details: { partition: p, reason: 'unrouted' },
        }),
      ),
    );
  }

  #onCommand(type: string, partition: number, msg: Msg): void {
    const started = process.hrtime.bigint();
    const aggregate = this.#types.get(type) as AnyAggregate;
    if (this.#draining) {
      this.#finish(msg, type, started, errorReply(new RatchetError(ErrorCode.UNAVAILABLE, 'worker is draining')), false);
      return;
    }
    if (this.#inFlight >= this.#maxInFlight) {
      this.#finish(
        msg,
        type,
        started,
        errorReply(new RatchetError(ErrorCode.OVERLOADED, `worker has ${this.#inFlight} commands in flight`)),
        false,
      );
      return;
    }
    let request: CommandRequest;
    try {
      request = parseCommandRequest(msg.data, { maxBytes: this.#maxRequestBytes });
      if (partitionOf(request.id, this.#partitionCount) !== partition) {
        throw new RatchetError(
          ErrorCode.WRONG_PARTITION,
          `aggregate "${request.id}" belongs to partition ${partitionOf(request.id, this.#partitionCount)}, not ${partition}`,
        );
      }
      if (!aggregate.hasCommand(request.command.type)) {
        throw new RatchetError(ErrorCode.UNKNOWN_COMMAND, `aggregate "${type}" has no command "${request.command.type}"`);
      }
    } catch (error) {
      this.#finish(msg, type, started, errorReply(error), false);
      return;
    }
    this.#inFlight += 1;
    this.#partitionInFlight.set(partition, (this.#partitionInFlight.get(partition) ?? 0) + 1);
    this.metrics.inFlight.set(this.#inFlight);
    const streamId = streamIdOf(type, request.id);
    const actor = this.#actors.get(streamId, () => new AggregateActor(aggregate, request.id, streamId, partition));
    const traceparent = msg.headers?.get('traceparent') || undefined;
    // A span per command when an OpenTelemetry SDK is registered (a no-op otherwise).
    const span = startCommandSpan({
      side: 'server',
      aggregateType: type,
      aggregateId: request.id,
      commandType: request.command.type,
      headers: msg.headers ?? natsHeaders(),
    });
    actor.enqueue(async () => {
      let reply: CommandReply;
      try {
        reply = await this.#execute(actor, request, traceparent);
      } catch (error) {
        if (!(error instanceof RatchetError)) this.#log.error({ err: error, streamId }, 'command failed unexpectedly');
        reply = errorReply(error);
      }
      endCommandSpan(span, reply.status, undefined, reply.status === 'error' ? reply.error.code : undefined);
      this.#finish(msg, type, started, reply, true);
      this.#partitionDone(partition);
    });
  }

  #partitionDone(partition: number): void {
    const n = (this.#partitionInFlight.get(partition) ?? 1) - 1;
    this.#partitionInFlight.set(partition, n);
    if (n > 0) return;
    const waiters = this.#partitionIdle.get(partition);
    if (waiters === undefined) return;
    this.#partitionIdle.delete(partition);
    for (const w of waiters) w();
  }

  #finish(msg: Msg, type: string, started: bigint, reply: CommandReply, admitted: boolean): void {
    if (reply.status === 'ok') crashPoint(CrashPoint.AFTER_COMMIT_BEFORE_REPLY);
    this.#reply(msg, reply);
    const result = reply.status === 'error' ? reply.error.code : reply.status;
    this.metrics.commands.inc({ aggregate: type, result });
    this.metrics.latency.observe({ aggregate: type }, Number(process.hrtime.bigint() - started) / 1e9);
    if (!admitted) return;
    this.#inFlight -= 1;
    this.metrics.inFlight.set(this.#inFlight);
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #reply(msg: Msg, reply: CommandReply): void {
    if (msg.reply === undefined || msg.reply === '') return;
    try {
      msg.respond(encodeReply(reply));
    } catch (error) {
      this.#log.warn({ err: error }, 'could not send a reply');
    }
  }

  async #load(actor: AggregateActor): Promise<AggregateState> {
    const { aggregate, streamId } = actor;
    const passivated = this.#passivated.take(streamId);
    if (passivated !== undefined) {
      let from: AggregateState | undefined;
      try {
        from = aggregate.restore(passivated.state, passivated.version);
      } catch (error) {
        this.#log.warn({ err: error, streamId }, 'passivated state not restored; loading from the store');
      }
      if (from !== undefined) {
        // Only what was appended since (by this worker or, after a handover, another one).
        const tail = await this.#o.store.readStream(streamId, { fromVersion: passivated.version + 1 });
        actor.snapshotVersion = passivated.snapshotVersion;
        this.#stats.passivatedActivations += 1;
        this.metrics.passivatedActivations.inc();
        return aggregate.replay(tail, from);
      }
    }
    const snapshot = await this.#o.store.loadSnapshot(streamId, aggregate.machineVersion);
    let state = snapshot === null ? aggregate.initialState() : aggregate.restore(snapshot.state as PersistedState, snapshot.version);
    const tail = await this.#o.store.readStream(streamId, { fromVersion: state.version + 1 });
    state = aggregate.replay(tail, state);
    actor.snapshotVersion = snapshot?.version ?? 0;
    this.#stats.activations += 1;
    if (snapshot !== null) this.#stats.snapshotActivations += 1;
    this.metrics.activations.inc({ snapshot: snapshot === null ? 'no' : 'yes' });
    return state;
  }

  /** A renewal found a partition under another holder: forget it and its actors. */
  #onLeaseLost(partition: number): void {
    this.#log.warn({ partition }, 'partition lease lost: another worker holds a newer epoch');
    this.#partitionLost(partition);
  }

  /** Another worker holds `partition` now: stop serving it (cluster ownership also reconciles) and drop its actors. */
  #partitionLost(partition: number): void {
    this.#ownership?.lost(partition);
    if (this.#cluster === undefined) void this.#unserve(partition, 0);
    this.dropPartition(partition);
  }

  async #execute(actor: AggregateActor, request: CommandRequest, traceparent: string | undefined): Promise<CommandReply> {
    const ownership = this.#ownership;
    const fence = ownership?.fenceFor(actor.partition);
    if (ownership === undefined || fence === undefined) {
      throw new RatchetError(ErrorCode.UNAVAILABLE, `partition ${actor.partition} is not served by this worker now`);
    }
    // Every answer below is computed from the actor's in-memory state, or from the store. The memory
    // is the store's state only while no other worker can have claimed the partition, which is what
    // the lease says; checked here, when the state is read, after the request arrived (guarantee 3).
    if (!ownership.holds(actor.partition)) {
      this.metrics.leaseRefusals.inc();
      throw new RatchetError(ErrorCode.UNAVAILABLE, `partition ${actor.partition}'s lease has lapsed on this worker; retry`, {
        details: { partition: actor.partition, reason: 'lease-lapsed' },
      });
    }
    const hash = requestHash(actor.aggregate.type, request);
    const metadata: EventMetadata = {
      ...request.metadata,
      commandId: request.commandId,
      correlationId: request.metadata?.correlationId ?? request.commandId,
      causationId: request.metadata?.causationId ?? request.commandId,
      ...(traceparent === undefined ? {} : { traceparent }),
    };
    for (let attempt = 0; ; attempt += 1) {
      actor.state ??= await this.#load(actor);
      const state = actor.state;
      if (request.expectedVersion !== undefined && request.expectedVersion !== state.version) {
        // A retry of a command that already committed must get its first answer, not a conflict.
        return (await this.#firstAnswer(request.commandId, hash)) ?? errorReply(
          new RatchetError(
            ErrorCode.VERSION_CONFLICT,
            `stream ${actor.streamId} is at version ${state.version}, expected ${request.expectedVersion}`,
            { details: { streamId: actor.streamId, expectedVersion: request.expectedVersion, actualVersion: state.version } },
          ),
        );
      }
      const decision = actor.aggregate.decide(state, request.command, actor.id);
      if (!decision.accepted) {
        return (await this.#firstAnswer(request.commandId, hash)) ?? {
          status: 'rejected',
          reason: decision.reason,
          version: state.version,
        };
      }
      if (decision.events.length === 0) return { status: 'ok', version: state.version, events: [], duplicate: false };
      const append: AppendRequest = {
        streamId: actor.streamId,
        expectedVersion: state.version,
        events: decision.events.map((e) => ({
          type: e.type,
          data: e.data,
          schemaVersion: actor.aggregate.schemaVersionOf(e.type),
        })),
        commandId: request.commandId,
        requestHash: hash,
        metadata,
        fence,
      };
      crashPoint(CrashPoint.BEFORE_COMMIT);
      const outcome: AppendOutcome = await this.#committer.submit(append);
      if (outcome.ok) {
        const result = outcome.result;
        if (result.duplicate) {
          // Our decision is discarded; the stored events may be ones this actor has not folded.
          if (result.version > state.version) actor.state = undefined;
        } else {
          actor.state = decision.state;
          this.#maybeSnapshot(actor, decision.state);
        }
        return okReply(result);
      }
      const error = outcome.error;
      if (error.code === ErrorCode.VERSION_CONFLICT && attempt < MAX_INTERNAL_RETRIES) {
        // Our in-memory state was behind the store (another writer before a handover): reload, decide again.
        actor.state = undefined;
        continue;
      }
      if (error.code === ErrorCode.FENCED) {
        this.#stats.fencedWrites += 1;
        this.metrics.fencedWrites.inc();
        this.#log.warn({ partition: actor.partition, err: error }, 'fenced: another worker owns this partition now');
        this.#partitionLost(actor.partition);
      }
      if (error.code === ErrorCode.STORE_UNAVAILABLE) actor.state = undefined;
      return errorReply(error);
    }
  }

  async #firstAnswer(commandId: string, hash: string): Promise<CommandReply | undefined> {
    const first = await this.#o.store.findCommand(commandId);
    if (first === null) return undefined;
    if (first.requestHash !== null && first.requestHash !== hash) {
      return errorReply(new RatchetError(ErrorCode.COMMAND_ID_REUSED, `command id ${commandId} was used for another command`));
    }
    return okReply({ ...first.result, duplicate: true });
  }

  #maybeSnapshot(actor: AggregateActor, state: AggregateState): void {
    if (state.version - actor.snapshotVersion < this.#snapshotEvery) return;
    actor.snapshotVersion = state.version;
    this.#o.store
      .saveSnapshot({
        streamId: actor.streamId,
        version: state.version,
        machineVersion: actor.aggregate.machineVersion,
        state: actor.aggregate.persist(state),
      })
      .catch((error: unknown) => this.#log.warn({ err: error, streamId: actor.streamId }, 'snapshot not saved'));
  }
}

function okReply(result: AppendResult): CommandReply {
  return {
    status: 'ok',
    version: result.version,
    events: result.events.map((e: RecordedEvent) => ({
      version: e.version,
      type: e.type,
      schemaVersion: e.schemaVersion,
      data: e.data,
    })),
    duplicate: result.duplicate,
  };
}

/**
 * Create a worker serving the given aggregates over NATS, committing to Postgres.
 * @example
 * const worker = createWorker({ nats, store, aggregates: [Turnstile] });
 * await worker.start();
 * process.on('SIGTERM', () => worker.drain());
 */
export function createWorker(options: WorkerOptions): Worker {
  return new Worker(options);
}
