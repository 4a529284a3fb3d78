import { setTimeout as delay } from 'node:timers/promises';
import type { RecordedEvent } from '@ratchet/core';
import type { FeedCheckpoint, FeedPage } from '@ratchet/event-store-postgres';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { crashPoint } from '@ratchet/ops';
import { decodeEventMessage } from '@ratchet/transport-nats';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { ApplyReport, FeedProgress } from './apply-events.js';
import { ProjectorCrashPoint } from './crash-point.js';
import type { Projection } from './define-projection.js';
import { PROJECTIONS_SCHEMA } from './define-projection.js';
import type { ProjectorMetrics } from './projector-metrics.js';
import type { BatchHooks } from './run-batch.js';
import { runBatch } from './run-batch.js';

const S = `"${PROJECTIONS_SCHEMA}"`;

/** The part of the event store a projector reads. */
export interface ProjectorStore {
  readStream(streamId: string, options?: { fromVersion?: number; toVersion?: number }): Promise<RecordedEvent[]>;
  readFeed(after: FeedCheckpoint, limit: number): Promise<FeedPage>;
  feedHead(): Promise<{ readonly eventCount: number }>;
}

/** What a feed page's transaction saves: the checkpoint after it and its event count. */
function feedProgress(page: FeedPage): FeedProgress {
  return { ...page.checkpoint, events: page.events.length };
}

/** A JetStream message and its event, or why it could not be decoded. */
interface Delivered {
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

/** Where a projection version is. */
export type RunnerPhase = 'starting' | 'building' | 'following' | 'retrying' | 'stopped';

/** Settings shared by every runner of a projector. */
export interface RunnerSettings {
  readonly pool: pg.Pool;
  /** Pool on the event store's database, for the rebuild's transaction fence. */
  readonly storePool: pg.Pool;
  readonly store: ProjectorStore;
  /** 'feed': follow the event store's feed instead of JetStream (then `js` and `jsm` are absent). */
  readonly source: 'jetstream' | 'feed';
  readonly feedPollIntervalMs: number;
  readonly js: JetStreamClient | undefined;
  readonly jsm: JetStreamManager | undefined;
  readonly streamName: string;
  readonly subjectPrefix: string;
  /** Events per read-model transaction while the version keeps up. */
  readonly batchSize: number;
  /** What a batch may grow to while a backlog waits (after a full batch). */
  readonly maxBatchSize: number;
  readonly maxAttempts: number;
  readonly retryBackoffMs: number;
  readonly ackWaitMs: number;
  readonly statsIntervalMs: number;
  readonly logger: Logger;
  readonly metrics: ProjectorMetrics;
  /** Called when the version finished building and follows JetStream. */
  readonly onFollowing: (projection: Projection) => Promise<void>;
}

/**
 * Runs one projection version: creates its tables, builds it from the Postgres feed when it is
 * new, then follows its durable JetStream consumer. Every batch is one read-model transaction.
 */
export class ProjectionRunner {
  readonly projection: Projection;
  readonly #s: RunnerSettings;
  readonly #log: Logger;
  #phase: RunnerPhase = 'starting';
  #stopping = false;
  #loop: Promise<void> | undefined;
  /** Delivered messages, decoded as they arrive (while the batch before them commits). */
  #buffer: Delivered[] = [];
  #messages: ConsumerMessages | undefined;
  #wake: (() => void) | undefined;
  #lastRecordedAt: Date | null = null;
  #lagEvents = 0;
  #consumerLost = false;
  #statsTimer: NodeJS.Timeout | undefined;
  #started: Promise<void>;
  #resolveStarted!: () => void;

  constructor(projection: Projection, settings: RunnerSettings) {
    this.projection = projection;
    this.#s = settings;
    this.#log = settings.logger.child({ projection: projection.key });
    this.#started = new Promise((resolve) => {
      this.#resolveStarted = resolve;
    });
  }

  get phase(): RunnerPhase {
    return this.#phase;
  }

  get lagEvents(): number {
    return this.#lagEvents;
  }

  /** Resolves once the version follows JetStream (after its build, if any). */
  following(): Promise<void> {
    return this.#started;
  }

  /** Create the tables and start building or following in the background. */
  async start(): Promise<void> {
    await this.#setup();
    this.#loop = this.#supervise();
  }

  /**
   * Run, and after any error that escapes (Postgres or NATS gone at a bad moment, a consumer lost)
   * start over from the saved positions with backoff, until stopped. A projector that is up must
   * keep projecting: the fault campaign once found one alive, healthy and stalled for good.
   */
  async #supervise(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      try {
        await this.#run();
        return;
      } catch (error) {
        if (this.#stopping) return;
        failures += 1;
        this.#phase = 'retrying';
        const waitMs = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
        this.#log.error({ err: error, failures, retryInMs: waitMs }, 'projection failed; starting over from its saved position');
        await this.#messages?.close().catch(() => undefined);
        this.#messages = undefined;
        for (const d of this.#buffer.splice(0)) d.msg.nak();
        await delay(waitMs);
      }
    }
  }

  /** Drain: stop pulling, finish the batch in hand (commit and ack), hand the rest back. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    if (this.#statsTimer !== undefined) clearInterval(this.#statsTimer);
    await this.#loop;
    await this.#messages?.close().catch(() => undefined);
    for (const d of this.#buffer.splice(0)) d.msg.nak();
    this.#phase = 'stopped';
  }

  async #setup(): Promise<void> {
    const p = this.projection;
    const client = await this.#s.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('ratchet_projections:' || $1))`, [p.name]);
      await p.setup(client, p.tableNames);
      await client.query(
        `INSERT INTO ${S}.versions (name, version, status, tables) VALUES ($1, $2, 'building', $3) ON CONFLICT DO NOTHING`,
        [p.name, p.version, p.tables],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async #run(): Promise<void> {
    const p = this.projection;
    const row = (
      await this.#s.pool.query<{ status: string; feed_transaction_id: string; feed_global_position: string; feed_fence: string | null; feed_events: string }>(
        `SELECT status, feed_transaction_id::text, feed_global_position, feed_fence::text, feed_events FROM ${S}.versions WHERE name = $1 AND version = $2`,
        [p.name, p.version],
      )
    ).rows[0]!;
    const feed = this.#s.source === 'feed';
    if (row.status === 'building') {
      // The consumer exists before the fence is taken: an event is either in a transaction below
      // the fence (the feed has it) or commits after the consumer existed (JetStream has it).
      if (!feed) await this.#ensureConsumer(DeliverPolicy.New);
      let fence = row.feed_fence;
      if (fence === null) {
        fence = (await this.#s.storePool.query<{ x: string }>(`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x`)).rows[0]!.x;
        await this.#s.pool.query(`UPDATE ${S}.versions SET feed_fence = $3::xid8 WHERE name = $1 AND version = $2`, [p.name, p.version, fence]);
      }
      this.#phase = 'building';
      const built = await this.#build(
        { transactionId: row.feed_transaction_id, globalPosition: Number(row.feed_global_position) },
        fence,
        Number(row.feed_events),
      );
      if (!built) return;
      await this.#s.pool.query(
        `UPDATE ${S}.versions SET status = 'following', following_at = now() WHERE name = $1 AND version = $2`,
        [p.name, p.version],
      );
    } else if (!feed) {
      await this.#ensureConsumer(DeliverPolicy.All);
    }
    if (this.#stopping) return;
    await this.#s.onFollowing(p);
    this.#phase = 'following';
    this.#resolveStarted();
    this.#log.info(feed ? 'following the event store feed' : 'following JetStream');
    await (feed ? this.#followFeed() : this.#follow());
  }

  /** Feed mode: apply the feed from the saved checkpoint on, the checkpoint moving in each batch's transaction. */
  async #followFeed(): Promise<void> {
    const p = this.projection;
    const row = (
      await this.#s.pool.query<{ feed_transaction_id: string; feed_global_position: string }>(
        `SELECT feed_transaction_id::text, feed_global_position FROM ${S}.versions WHERE name = $1 AND version = $2`,
        [p.name, p.version],
      )
    ).rows[0]!;
    const from: FeedCheckpoint = { transactionId: row.feed_transaction_id, globalPosition: Number(row.feed_global_position) };
    for await (const page of this.#feedPages(from)) {
      if (this.#stopping) return;
      if (page.events.length === 0) {
        this.#lagEvents = 0;
        this.#s.metrics.lagEvents.set({ projection: p.key }, 0);
        await delay(this.#s.feedPollIntervalMs);
        continue;
      }
      await this.#apply(page.events, { feed: feedProgress(page) });
    }
  }

  /**
   * The feed from `from` on, page by page, the next page read while the caller applies this one;
   * pages grow as batches do (#nextLimit). An empty page means the feed has nothing more for now:
   * the next read starts when the caller asks again. Only the caller's transactions move the
   * checkpoint, so a page read ahead and never applied (stop, error) is simply read again.
   */
  async *#feedPages(from: FeedCheckpoint): AsyncGenerator<FeedPage> {
    const read = (after: FeedCheckpoint, limit: number): Promise<FeedPage> => {
      const page = this.#s.store.readFeed(after, limit);
      page.catch(() => undefined); // a read ahead nobody waits for must not be an unhandled rejection
      return page;
    };
    let limit = this.#s.batchSize;
    let next = read(from, limit);
    for (;;) {
      const page = await next;
      limit = this.#nextLimit(limit, page.events.length);
      if (page.events.length === 0) {
        yield page;
        next = read(page.checkpoint, limit);
      } else {
        next = read(page.checkpoint, limit);
        yield page;
      }
    }
  }

  /**
   * The next batch's size limit: a full batch means more events wait, so the next one may take up
   * to maxBatchSize of them (its fixed costs shared by more events); a batch that is not full sets
   * the limit back to batchSize.
   */
  #nextLimit(limit: number, taken: number): number {
    return taken >= limit ? this.#s.maxBatchSize : this.#s.batchSize;
  }

  /** Read the feed from `from` until every transaction below `fence` is applied; false when stopped first. */
  async #build(from: FeedCheckpoint, fence: string, doneBefore: number): Promise<boolean> {
    const p = this.projection;
    const m = this.#s.metrics;
    let done = doneBefore;
    let total = Math.max(done, (await this.#s.store.feedHead()).eventCount);
    const startedAt = Date.now();
    let lastLog = 0;
    let lastTotal = startedAt;
    this.#log.info({ done, total, fence }, 'rebuild from the event store feed started');
    for await (const page of this.#feedPages(from)) {
      if (this.#stopping) return false;
      if (page.events.length === 0) {
        const past = await this.#s.storePool.query<{ past: boolean }>(
          `SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS past`,
          [fence],
        );
        if (past.rows[0]?.past === true) {
          this.#log.info({ done, seconds: (Date.now() - startedAt) / 1000 }, `rebuild reached the fence; switching to ${this.#s.source === 'feed' ? 'following the feed' : 'JetStream'}`);
          m.rebuildDone.set({ projection: p.key }, done);
          m.rebuildEtaSeconds.set({ projection: p.key }, 0);
          return true;
        }
        await delay(20);
        continue;
      }
      await this.#apply(page.events, { feed: feedProgress(page) });
      done += page.events.length;
      const now = Date.now();
      if (now - lastTotal > 5_000) {
        total = Math.max(done, (await this.#s.store.feedHead()).eventCount);
        lastTotal = now;
      }
      total = Math.max(total, done);
      const rate = ((done - doneBefore) * 1000) / Math.max(1, now - startedAt);
      const eta = rate > 0 ? (total - done) / rate : null;
      this.#lagEvents = total - done;
      m.rebuildDone.set({ projection: p.key }, done);
      m.rebuildTotal.set({ projection: p.key }, total);
      m.rebuildRate.set({ projection: p.key }, rate);
      m.rebuildEtaSeconds.set({ projection: p.key }, eta ?? -1);
      m.lagEvents.set({ projection: p.key }, total - done);
      if (now - lastLog >= 1_000) {
        lastLog = now;
        this.#log.info({ done, total, rate: Math.round(rate), etaSeconds: eta === null ? null : Math.round(eta) }, 'rebuild progress');
      }
    }
    return false;
  }

  async #apply(
    events: readonly RecordedEvent[],
    extra: { readonly hooks?: BatchHooks; readonly feed?: FeedProgress } = {},
  ): Promise<ApplyReport> {
    const p = this.projection;
    const m = this.#s.metrics;
    const end = m.batchSeconds.startTimer({ projection: p.key });
    const report = await runBatch(
      this.#s.pool,
      p,
      events,
      {
        maxAttempts: this.#s.maxAttempts,
        retryBackoffMs: this.#s.retryBackoffMs,
        readGap: (streamId, fromVersion, toVersion) => this.#s.store.readStream(streamId, { fromVersion, toVersion }),
        feed: extra.feed,
      },
      extra.hooks,
    );
    end();
    m.applied.inc({ projection: p.key }, report.applied);
    m.duplicates.inc({ projection: p.key }, report.duplicates);
    m.gapFilled.inc({ projection: p.key }, report.gapFilled);
    if (report.lastRecordedAt !== null) this.#lastRecordedAt = report.lastRecordedAt;
    if (report.parked.length > 0) {
      for (const parked of report.parked) this.#log.error({ ...parked }, 'event parked: its stream waits until retryParked');
      await this.refreshParked();
    }
    return report;
  }

  /** Recount this version's parked streams into the gauge. */
  async refreshParked(): Promise<void> {
    const res = await this.#s.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${S}.parked WHERE name = $1 AND version = $2`, [
      this.projection.name,
      this.projection.version,
    ]);
    this.#s.metrics.parked.set({ projection: this.projection.key }, Number(res.rows[0]?.n ?? 0));
  }

  /** Apply events outside the JetStream flow (parked retries), with hooks in the same transaction. */
  applyDirect(events: readonly RecordedEvent[], hooks: BatchHooks): Promise<ApplyReport> {
    return this.#apply(events, { hooks });
  }

  #jsm(): JetStreamManager {
    if (this.#s.jsm === undefined) throw new Error('no JetStream in feed mode');
    return this.#s.jsm;
  }

  #js(): JetStreamClient {
    if (this.#s.js === undefined) throw new Error('no JetStream in feed mode');
    return this.#s.js;
  }

  #filterSubject(): string {
    const types = this.projection.aggregateTypes;
    return types?.length === 1 ? `${this.#s.subjectPrefix}.${types[0]}.>` : `${this.#s.subjectPrefix}.>`;
  }

  /**
   * Unacked messages the consumer may hand out: two of the largest batches, so the next one
   * arrives while one commits.
   */
  #maxAckPending(): number {
    return Math.max(1_000, this.#s.batchSize * 4, this.#s.maxBatchSize * 2);
  }

  /** Create the durable consumer if it does not exist; true when it was created. */
  async #ensureConsumer(policy: DeliverPolicy): Promise<boolean> {
    const name = this.projection.consumerName;
    try {
      const info = await this.#jsm().consumers.info(this.#s.streamName, name);
      const pending = info.config.max_ack_pending ?? -1;
      if (pending > 0 && pending < this.#maxAckPending()) {
        // Made with smaller batches in mind: raise it, or batches stay below maxBatchSize (a
        // consume-only user may not be allowed to, which only costs throughput).
        await this.#jsm()
          .consumers.update(this.#s.streamName, name, { max_ack_pending: this.#maxAckPending() })
          .catch((error: unknown) => this.#log.warn({ err: error, consumer: name }, "could not raise the consumer's max_ack_pending"));
      }
      return false;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
    }
    await this.#jsm().consumers.add(this.#s.streamName, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: policy,
      filter_subject: this.#filterSubject(),
      ack_wait: nanos(this.#s.ackWaitMs),
      max_ack_pending: this.#maxAckPending(),
      max_deliver: -1,
    });
    this.#log.info({ consumer: name, policy }, 'created durable consumer');
    return true;
  }

  async #consume(): Promise<void> {
    const consumer = await this.#js().consumers.get(this.#s.streamName, this.projection.consumerName);
    this.#messages = await consumer.consume({
      // Enough in flight to fill the largest batch while one commits. Messages of a pull still
      // outstanding when the subscription closes (stop, recovery) come again after the ack wait;
      // meanwhile later events of their streams fill the gap from the store.
      max_messages: this.#s.maxBatchSize,
      callback: (m) => {
        this.#buffer.push({ msg: m, event: decodeDelivered(m) });
        this.#wake?.();
      },
    });
    const messages = this.#messages;
    void (async () => {
      for await (const s of messages.status()) {
        // Only about the subscription in use: a late status of one closed by #recover is stale.
        if (messages !== this.#messages) return;
        if (s.type === 'consumer_not_found' || s.type === 'consumer_deleted' || s.type === 'stream_not_found') {
          this.#consumerLost = true;
          this.#wake?.();
        }
      }
    })().catch(() => undefined);
  }

  /** Recreate a lost consumer (the stream was deleted and recreated): from the start, dedupe drops what was applied. */
  async #recover(): Promise<void> {
    // From here on, signals about the old subscription are stale (see #consume and #stats): one
    // arriving while it closes must not send a healthy new subscription through here again.
    const old = this.#messages;
    this.#messages = undefined;
    await old?.close().catch(() => undefined);
    this.#consumerLost = false;
    // Hand back what was delivered and not applied. A deleted consumer ignores it; one only thought
    // lost (a late signal) redelivers at once, instead of after the ack wait.
    for (const d of this.#buffer.splice(0)) d.msg.nak();
    for (;;) {
      if (this.#stopping) return;
      try {
        await this.#jsm().streams.info(this.#s.streamName);
        await this.#ensureConsumer(DeliverPolicy.All);
        await this.#consume();
        this.#log.warn('consumer recreated after the stream or consumer was lost');
        return;
      } catch (error) {
        this.#log.debug({ err: error }, 'events stream not there yet');
        await delay(200);
      }
    }
  }

  async #follow(): Promise<void> {
    await this.#consume();
    this.#statsTimer = setInterval(() => void this.#stats(), this.#s.statsIntervalMs);
    this.#statsTimer.unref();
    let failures = 0;
    let limit = this.#s.batchSize;
    while (!this.#stopping) {
      if (this.#consumerLost) await this.#recover();
      if (this.#buffer.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 500);
          function done(): void {
            clearTimeout(timer);
            resolve();
          }
          this.#wake = () => {
            this.#wake = undefined;
            done();
          };
        });
        continue;
      }
      const batch = this.#buffer.splice(0, limit);
      limit = this.#nextLimit(limit, batch.length);
      try {
        await this.#processBatch(batch);
        failures = 0;
      } catch (error) {
        failures += 1;
        this.#log.warn({ err: error, failures, size: batch.length }, 'batch failed; messages handed back for redelivery');
        for (const d of batch) d.msg.nak(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
        await delay(Math.min(5_000, 50 * 2 ** Math.min(failures, 7)));
      }
    }
  }

  async #processBatch(batch: readonly Delivered[]): Promise<void> {
    const events: RecordedEvent[] = [];
    const keep: JsMsg[] = [];
    for (const { msg, event } of batch) {
      if (event instanceof Error) {
        this.#s.metrics.malformed.inc({ projection: this.projection.key });
        this.#log.error({ err: event, subject: msg.subject, seq: msg.seq }, 'malformed event message terminated');
        msg.term();
      } else {
        events.push(event);
        keep.push(msg);
      }
    }
    if (events.length > 0) await this.#apply(events);
    crashPoint(ProjectorCrashPoint.AFTER_COMMIT_BEFORE_ACK);
    // Ack after commit: a crash before this line redelivers the batch, which dedupe drops.
    for (const m of keep) m.ack();
  }

  async #stats(): Promise<void> {
    const key = this.projection.key;
    const messages = this.#messages;
    try {
      const info = await this.#jsm().consumers.info(this.#s.streamName, this.projection.consumerName);
      this.#lagEvents = info.num_pending + info.num_ack_pending;
      this.#s.metrics.lagEvents.set({ projection: key }, this.#lagEvents);
      const behind = this.#lagEvents > 0 && this.#lastRecordedAt !== null ? (Date.now() - this.#lastRecordedAt.getTime()) / 1000 : 0;
      this.#s.metrics.lagSeconds.set({ projection: key }, Math.max(0, behind));
    } catch (error) {
      // A probe sent before the consumer was recreated (or while it is) says nothing about the new one.
      if (messages === undefined || messages !== this.#messages) return;
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound) {
        this.#consumerLost = true;
        this.#wake?.();
      } else if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
        this.#consumerLost = true;
      }
    }
  }
}
