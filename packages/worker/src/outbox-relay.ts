import { ErrorCode, RatchetError, type RecordedEvent } from '@ratchet/core';
import type { FeedCheckpoint, FeedPage } from '@ratchet/event-store-postgres';
import { FEED_START } from '@ratchet/event-store-postgres';
import type { NatsConnection } from '@nats-io/transport-node';
import { eventMessage } from '@ratchet/transport-nats';
import type { Logger } from 'pino';
import { CrashPoint, crashPoint } from './crash-point.js';
import { JetStreamPublisher } from './jetstream-publisher.js';

/** The part of the store the relay needs. */
export interface RelayStore {
  readFeed(after: FeedCheckpoint, limit: number): Promise<FeedPage>;
  /** Highest global position written (committed or not); 0 when empty. */
  feedMaxPosition(): Promise<number>;
  loadCheckpoint(name: string): Promise<FeedCheckpoint | null>;
  saveCheckpoint(name: string, checkpoint: FeedCheckpoint, options?: { readonly durable?: boolean }): Promise<void>;
  /** Take or renew a lease; true while `holder` has it. */
  tryAcquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
}

/** Options of an {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  readonly store: RelayStore;
  /** Connection the relay publishes on (JetStream acks come back on it). */
  readonly nats: NatsConnection;
  /** Who runs this relay (lease holder). */
  readonly holder: string;
  readonly logger: Logger;
  /** Checkpoint and lease name. Default 'outbox'. */
  readonly name?: string;
  /** Events read per feed page. Default 500. */
  readonly batchSize?: number;
  /** How often to look at the feed when nobody calls `notify` (ms). Default 100. */
  readonly pollIntervalMs?: number;
  /** Lease TTL (ms): one relay runs at a time; another takes over this long after it stops renewing. Default 5,000. */
  readonly leaseTtlMs?: number;
  /** After a partial page, wait this long (ms) so the next page gathers more events. Default 2. */
  readonly coalesceMs?: number;
  /**
   * Pages published but not yet acknowledged by JetStream at once: the next page is read while
   * the previous one's acks are on their way. The checkpoint only moves past acknowledged pages.
   * Default 4.
   */
  readonly pagesInFlight?: number;
  /**
   * Save the checkpoint at most this often (ms), without waiting for the WAL flush; the relay saves
   * it durably when it stops. A crash republishes at most this much, which JetStream drops by
   * `Nats-Msg-Id`. 0 saves durably after every page. Default 200.
   */
  readonly checkpointEveryMs?: number;
  /** How long to wait for JetStream to acknowledge a publish (ms). Default 10,000. */
  readonly publishTimeoutMs?: number;
  /** Called after each published page with the number of events and the remaining lag. */
  readonly onProgress?: (published: number, lag: number) => void;
  /**
   * When this process committed a transaction (`performance.now()`), if it knows; with
   * `onEventLag`, each acknowledged event's commit-to-ack time is reported.
   */
  readonly commitTimeOf?: (transactionId: string) => number | undefined;
  readonly onEventLag?: (ms: number) => void;
}

/**
 * Publishes committed events to JetStream in commit order, from a checkpoint kept in Postgres.
 * At least once: it publishes, then saves the checkpoint, so a crash in between republishes a
 * page, which JetStream drops by `Nats-Msg-Id` (`<streamId>:<version>`) and projectors drop by
 * (stream, version). A lease in Postgres keeps one relay active across the workers.
 */
export class OutboxRelay {
  readonly #store: RelayStore;
  readonly #nats: NatsConnection;
  readonly #holder: string;
  readonly #log: Logger;
  /** Checkpoint and lease name. */
  readonly #name: string;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #leaseTtlMs: number;
  readonly #publishTimeoutMs: number;
  readonly #coalesceMs: number;
  readonly #pagesInFlight: number;
  readonly #checkpointEveryMs: number;
  readonly #onProgress: OutboxRelayOptions['onProgress'];
  readonly #commitTimeOf: OutboxRelayOptions['commitTimeOf'];
  readonly #onEventLag: OutboxRelayOptions['onEventLag'];
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #pending = false;
  /** Up to where JetStream acknowledged every event (what the saved checkpoint follows). */
  #checkpoint: FeedCheckpoint = FEED_START;
  /** Up to where the feed was read and published (acks may be outstanding). */
  #cursor: FeedCheckpoint = FEED_START;
  /** Published pages waiting for their acks, oldest first. */
  #inFlight: Array<{
    readonly checkpoint: FeedCheckpoint;
    readonly events: number;
    /** Events per transaction id, for commit-to-ack lag. */
    readonly transactions: ReadonlyMap<string, number>;
    /** Resolves with the time the last ack arrived. */
    readonly acks: Promise<number>;
  }> = [];
  /** Whether #checkpoint is ahead of the saved one, and when it was last saved. */
  #unsaved = false;
  #savedAt = 0;
  #leader = false;
  #leaseCheckedAt = 0;
  #lag = 0;
  #published = 0;
  #publisher: JetStreamPublisher | undefined;

  constructor(options: OutboxRelayOptions) {
    this.#store = options.store;
    this.#nats = options.nats;
    this.#holder = options.holder;
    this.#log = options.logger;
    this.#name = options.name ?? 'outbox';
    this.#batchSize = options.batchSize ?? 500;
    this.#pollIntervalMs = options.pollIntervalMs ?? 100;
    this.#leaseTtlMs = options.leaseTtlMs ?? 5_000;
    this.#publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
    this.#coalesceMs = options.coalesceMs ?? 2;
    this.#pagesInFlight = options.pagesInFlight ?? 4;
    this.#checkpointEveryMs = options.checkpointEveryMs ?? 200;
    this.#onProgress = options.onProgress;
    this.#commitTimeOf = options.commitTimeOf;
    this.#onEventLag = options.onEventLag;
  }

  /** Whether this relay holds the lease. */
  get leader(): boolean {
    return this.#leader;
  }

  /** Events published by this relay since start. */
  get published(): number {
    return this.#published;
  }

  /** Committed events not yet published, as of the last look. */
  get lag(): number {
    return this.#lag;
  }

  /** Start following the feed. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#publisher = new JetStreamPublisher(this.#nats);
    this.#loop = this.#run();
  }

  /** New events were committed: look now instead of at the next poll. */
  notify(): void {
    this.#pending = true;
    this.#wake?.();
  }

  /**
   * For a draining worker: stop the background loop, then publish until the feed is empty and
   * acknowledged (or the deadline passes). Call `stop()` after it.
   */
  async catchUp(deadlineMs: number): Promise<boolean> {
    const until = Date.now() + deadlineMs;
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    while (Date.now() < until) {
      if (!this.#leader) return false;
      const n = await this.#step();
      if (n === 0) {
        await this.#settle(0);
        await this.#saveCheckpoint(true);
        return true;
      }
    }
    return false;
  }

  /** Stop after the current page and hand the lease back, so another relay takes over at once. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    if (this.#leader) {
      // Pages already sent: keep what JetStream acknowledged, then save durably.
      await this.#settle(0).catch(() => undefined);
      await this.#saveCheckpoint(true).catch((err: unknown) =>
        this.#log.warn({ err }, 'outbox relay could not save its checkpoint on stop'),
      );
      this.#leader = false;
      await this.#store.releaseLease(this.#name, this.#holder).catch(() => undefined);
    }
    this.#publisher?.close();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      try {
        await this.#ensureLease();
        const n = this.#leader ? await this.#step() : 0;
        failures = 0;
        if (n === 0) {
          await this.#settle(0);
          await this.#idle(this.#leader ? this.#pollIntervalMs : this.#leaseTtlMs / 3);
        } else if (n < this.#batchSize && this.#coalesceMs > 0 && this.#running) {
          // Caught up: let the next commits gather for a moment so a page carries many events.
          await new Promise<void>((resolve) => setTimeout(resolve, this.#coalesceMs).unref());
        }
      } catch (error) {
        failures += 1;
        this.#log.warn({ err: error, failures }, 'outbox relay step failed; retrying');
        await this.#idle(Math.min(5_000, 50 * 2 ** Math.min(failures, 7)));
      }
    }
  }

  async #ensureLease(): Promise<void> {
    const now = Date.now();
    if (now - this.#leaseCheckedAt < this.#leaseTtlMs / 3) return;
    const wasLeader = this.#leader;
    this.#leader = await this.#store.tryAcquireLease(this.#name, this.#holder, this.#leaseTtlMs);
    this.#leaseCheckedAt = now;
    if (this.#leader && !wasLeader) {
      await this.#settle(0).catch(() => undefined);
      this.#checkpoint = (await this.#store.loadCheckpoint(this.#name)) ?? FEED_START;
      this.#cursor = this.#checkpoint;
      this.#unsaved = false;
      this.#log.info({ checkpoint: this.#checkpoint }, 'outbox relay is active');
    } else if (!this.#leader && wasLeader) {
      this.#log.warn('outbox relay lost its lease');
    }
  }

  /** Read and publish one page after the cursor; returns how many events it held. */
  async #step(): Promise<number> {
    this.#pending = false;
    const page = await this.#store.readFeed(this.#cursor, this.#batchSize);
    if (page.events.length === 0) {
      this.#lag = 0;
      // Caught up: save now, so an idle relay never leaves a stale checkpoint behind (a restart
      // long after would republish past JetStream's duplicate window).
      await this.#settle(0);
      await this.#saveCheckpoint(this.#checkpointEveryMs === 0);
      return 0;
    }
    // Published in commit order on one connection; the acks are awaited later (see #settle).
    const acks = Promise.all(page.events.map((event) => this.#publish(event))).then(() => performance.now());
    acks.catch(() => undefined); // observed in #settle
    const transactions = new Map<string, number>();
    if (this.#onEventLag !== undefined)
      for (const e of page.events) transactions.set(e.transactionId, (transactions.get(e.transactionId) ?? 0) + 1);
    this.#inFlight.push({ checkpoint: page.checkpoint, events: page.events.length, transactions, acks });
    this.#cursor = page.checkpoint;
    await this.#settle(this.#pagesInFlight - 1);
    if (page.events.length < this.#batchSize) this.#lag = 0;
    else {
      // An upper bound (positions of aborted transactions count): cheap, and exact enough for a gauge.
      const head = await this.#store.feedMaxPosition();
      this.#lag = Math.max(0, head - page.checkpoint.globalPosition);
    }
    return page.events.length;
  }

  /**
   * Wait for the oldest published pages' acks until at most `keep` are outstanding, moving the
   * checkpoint past each acknowledged page. A failed publish drops every page after the
   * checkpoint and rewinds the cursor to it: they are read and published again (JetStream drops
   * the ones it already has by Nats-Msg-Id).
   */
  async #settle(keep: number): Promise<void> {
    while (this.#inFlight.length > keep) {
      const page = this.#inFlight[0];
      if (page === undefined) break; // only with a negative keep: nothing is left to wait for
      let ackedAt: number;
      try {
        ackedAt = await page.acks;
      } catch (error) {
        const dropped = this.#inFlight;
        this.#inFlight = [];
        await Promise.allSettled(dropped.map((p) => p.acks));
        this.#cursor = this.#checkpoint;
        throw error;
      }
      this.#inFlight.shift();
      this.#reportLag(page.transactions, ackedAt);
      crashPoint(CrashPoint.AFTER_PUBLISH_BEFORE_CHECKPOINT);
      this.#checkpoint = page.checkpoint;
      this.#unsaved = true;
      this.#published += page.events;
      this.#onProgress?.(page.events, this.#lag);
      if (Date.now() - this.#savedAt >= this.#checkpointEveryMs) await this.#saveCheckpoint(this.#checkpointEveryMs === 0);
    }
  }

  #reportLag(transactions: ReadonlyMap<string, number>, ackedAt: number): void {
    const commitTimeOf = this.#commitTimeOf;
    const onEventLag = this.#onEventLag;
    if (commitTimeOf === undefined || onEventLag === undefined) return;
    for (const [transactionId, n] of transactions) {
      const committed = commitTimeOf(transactionId);
      if (committed !== undefined) for (let i = 0; i < n; i++) onEventLag(ackedAt - committed);
    }
  }

  async #saveCheckpoint(durable: boolean): Promise<void> {
    if (!this.#unsaved) return;
    const checkpoint = this.#checkpoint;
    await this.#store.saveCheckpoint(this.#name, checkpoint, { durable });
    this.#savedAt = Date.now();
    if (this.#checkpoint === checkpoint) this.#unsaved = false;
  }

  async #publish(event: RecordedEvent): Promise<void> {
    const publisher = this.#publisher;
    if (publisher === undefined) throw new RatchetError(ErrorCode.UNAVAILABLE, 'outbox relay not started');
    const { subject, data, headers } = eventMessage(event);
    await publisher.publish(subject, data, headers, this.#publishTimeoutMs);
  }

  #idle(ms: number): Promise<void> {
    // A follower ignores notifications: only the lease holder publishes.
    if (!this.#leader) this.#pending = false;
    if (this.#pending || !this.#running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}
