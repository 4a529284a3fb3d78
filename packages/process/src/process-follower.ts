import { setTimeout as delay } from 'node:timers/promises';
import type { RecordedEvent } from '@ratchet/core';
import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { FeedCheckpoint } from '@ratchet/event-store-postgres';
import { crashPoint } from '@ratchet/ops';
import {
  DurableConsumer,
  feedPages,
  nextBatchLimit,
  runWithRestarts,
  type BatchSizes,
  type DeliveredEvent,
  type JetStreamAccess,
} from '@ratchet/projector';
import type pg from 'pg';
import type { Logger } from 'pino';
import { ProcessCrashPoint } from './crash-point.js';
import type { AnyProcess } from './define-process.js';
import { runProcessBatch, type BatchContext, type BatchOptions, type BatchReport } from './process-batch.js';
import type { ProcessMetrics } from './process-metrics.js';
import { PROCESSES_SCHEMA } from './process-schema.js';
import type { ProcessRunnerStore } from './process-runner-store.js';

const S = `"${PROCESSES_SCHEMA}"`;

/** Where a process is: starting, following its source, retrying after an error, stopped. */
export type ProcessPhase = 'starting' | 'following' | 'retrying' | 'stopped';

/** What every follower of a runner shares (the runner fills in the defaults). */
export interface FollowerSettings extends BatchSizes {
  readonly pool: pg.Pool;
  readonly store: ProcessRunnerStore;
  /** JetStream, or (undefined) the event store's feed, polled. */
  readonly jetstream: JetStreamAccess | undefined;
  readonly feedPollIntervalMs: number;
  readonly statsIntervalMs: number;
  /** Parked `unanswered` events are retried this often (ms); 0 never. */
  readonly unansweredRetryMs: number;
  readonly metrics: ProcessMetrics;
  readonly logger: Logger;
}

/**
 * Runs one process manager: follows its durable consumer (`proc_<name>`, the whole stream, explicit
 * acks; or the feed, without NATS) batch by batch through {@link runProcessBatch}, acks only after
 * the batch committed, hands a failed batch back (nak) and starts over after any error.
 */
export class ProcessFollower {
  readonly process: AnyProcess;
  readonly #pool: pg.Pool;
  readonly #store: ProcessRunnerStore;
  readonly #metrics: ProcessMetrics;
  readonly #sizes: BatchSizes;
  readonly #feedPollIntervalMs: number;
  readonly #statsIntervalMs: number;
  readonly #unansweredRetryMs: number;
  /** How long JetStream waits for an ack (ms); batches in progress extend it. */
  readonly #ackWaitMs: number;
  readonly #batch: Omit<BatchContext, 'signal'>;
  readonly #log: Logger;
  readonly #consumer: DurableConsumer | undefined;
  readonly #stop = new AbortController();
  readonly #hardStop = new AbortController();
  #phase: ProcessPhase = 'starting';
  #lagEvents = 0;
  #loop: Promise<void> | undefined;
  /** The batch in progress: batches of one follower (followed, retried) run one after another. */
  #applying: Promise<unknown> = Promise.resolve();

  constructor(process: AnyProcess, settings: FollowerSettings, batch: Omit<BatchContext, 'signal'>) {
    this.process = process;
    this.#pool = settings.pool;
    this.#store = settings.store;
    this.#metrics = settings.metrics;
    this.#sizes = { batchSize: settings.batchSize, maxBatchSize: settings.maxBatchSize };
    this.#feedPollIntervalMs = settings.feedPollIntervalMs;
    this.#statsIntervalMs = settings.statsIntervalMs;
    this.#unansweredRetryMs = settings.unansweredRetryMs;
    this.#ackWaitMs = settings.jetstream?.ackWaitMs ?? 30_000;
    this.#batch = batch;
    this.#log = settings.logger.child({ process: process.name });
    this.#consumer = settings.jetstream === undefined ? undefined : new DurableConsumer(process, settings.jetstream, settings, this.#log);
  }

  get phase(): ProcessPhase {
    return this.#phase;
  }

  /** Events not yet handled, as last reported (consumer pending and unacked; 0 once a feed is drained). */
  get lagEvents(): number {
    return this.#lagEvents;
  }

  /** Start following in the background. */
  start(): void {
    this.#loop = this.#supervise();
  }

  /** Stop pulling and finish the batch in hand; after `drainMs` its unanswered sends are cut and it rolls back. */
  async stop(drainMs = 10_000): Promise<void> {
    this.#stop.abort();
    const timer = setTimeout(() => this.#hardStop.abort(), drainMs);
    try {
      await this.#loop;
      await this.#applying; // a retry of parked events may still be running
    } finally {
      clearTimeout(timer);
    }
    await this.#consumer?.close();
    this.#phase = 'stopped';
  }

  /**
   * Run a batch: the one way events reach the process (followed, or retried from parked). One at a
   * time per follower — in feed mode the batches take no locks, so they must not overlap.
   */
  apply(events: readonly RecordedEvent[], options: BatchOptions = {}): Promise<BatchReport> {
    const run = this.#applying.then(() => this.#apply(events, options));
    this.#applying = run.catch(() => undefined);
    return run;
  }

  async #apply(stored: readonly RecordedEvent[], options: BatchOptions): Promise<BatchReport> {
    const m = this.#metrics;
    const label = { process: this.process.name };
    const end = m.batchSeconds.startTimer(label);
    // Handlers see sensitive values opened (their placeholders once forgotten), whatever the source.
    const cipher = this.#store.cipher;
    const events = cipher === undefined ? stored : await cipher.openEvents(stored);
    // Feed mode has one runner by definition: no locks, no transaction held while commands are answered.
    const report = await runProcessBatch(
      { ...this.#batch, signal: this.#hardStop.signal, exclusive: this.#consumer === undefined },
      events,
      options,
    );
    end();
    m.handled.inc(label, report.handled);
    m.duplicates.inc(label, report.duplicates);
    m.sent.inc(label, report.sent);
    for (const outcome of ['ok', 'rejected', 'failed'] as const) {
      m.answered.inc({ ...label, outcome }, report.commands.filter((c) => c.answer.outcome === outcome).length);
    }
    for (const p of report.parked) this.#log.error({ ...p }, 'event parked: its stream waits until retryParked');
    if (report.parked.length > 0 || options.retry !== undefined) await this.refreshParked();
    return report;
  }

  /** Run parked streams again from their parked event to their end (all, one, or those parked for `reason`). */
  async retryParked(filter: { streamId?: string; reason?: string } = {}): Promise<{ released: string[]; stillParked: string[] }> {
    const rows = await this.#pool.query<{ stream_id: string; event_version: number }>(
      `SELECT stream_id, event_version FROM ${S}.parked WHERE process = $1 AND ($2::text IS NULL OR stream_id = $2) AND ($3::text IS NULL OR reason = $3)`,
      [this.process.name, filter.streamId ?? null, filter.reason ?? null],
    );
    const released: string[] = [];
    const stillParked: string[] = [];
    for (const row of rows.rows) {
      const events = await this.#store.readStream(row.stream_id, { fromVersion: row.event_version });
      const report = await this.apply(events, { retry: [row.stream_id] });
      (report.parked.some((p) => p.streamId === row.stream_id) ? stillParked : released).push(row.stream_id);
    }
    return { released, stillParked };
  }

  /** Recount parked streams into the gauge. */
  async refreshParked(): Promise<void> {
    const res = await this.#pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${S}.parked WHERE process = $1`, [this.process.name]);
    this.#metrics.parked.set({ process: this.process.name }, Number(res.rows[0]?.n ?? 0));
  }

  #reportLag(events: number): void {
    this.#lagEvents = events;
    this.#metrics.lagEvents.set({ process: this.process.name }, events);
  }

  /** Run, and after any error start over from the committed positions with backoff, until stopped. */
  async #supervise(): Promise<void> {
    const retries = this.#unansweredRetryMs > 0 ? setInterval(() => void this.#retryUnanswered(), this.#unansweredRetryMs) : undefined;
    retries?.unref();
    try {
      await runWithRestarts(
        () => this.#run(),
        this.#stop.signal,
        async (error, failures, retryInMs) => {
          this.#phase = 'retrying';
          this.#log.error({ err: error, failures, retryInMs }, 'process failed; starting over from its committed positions');
          await this.#consumer?.close();
        },
      );
    } finally {
      clearInterval(retries);
    }
  }

  async #retryUnanswered(): Promise<void> {
    if (this.#phase !== 'following') return;
    const { released } = await this.retryParked({ reason: 'unanswered' }).catch((error: unknown) => {
      this.#log.warn({ err: error }, 'retrying unanswered events failed');
      return { released: [] };
    });
    if (released.length > 0) this.#log.info({ released }, 'parked unanswered events answered on retry');
  }

  async #run(): Promise<void> {
    const consumer = this.#consumer;
    if (consumer === undefined) {
      this.#phase = 'following';
      const res = await this.#pool.query<{ transaction_id: string; global_position: string }>(
        `SELECT feed_transaction_id::text AS transaction_id, feed_global_position AS global_position FROM ${S}.processes WHERE name = $1`,
        [this.process.name],
      );
      const row = res.rows[0];
      await this.#followFeed({ transactionId: row?.transaction_id ?? '0', globalPosition: Number(row?.global_position ?? 0) });
      return;
    }
    // The whole stream: a process handles every subscribed event from version 1 of each stream.
    await consumer.ensure(DeliverPolicy.All);
    await consumer.open();
    this.#phase = 'following';
    this.#log.info('following JetStream');
    const stats = setInterval(
      () => void consumer.probeLag().then((lag) => lag !== undefined && this.#reportLag(lag)),
      this.#statsIntervalMs,
    );
    stats.unref();
    try {
      let failures = 0;
      let limit = this.#sizes.batchSize;
      while (!this.#stop.signal.aborted) {
        if (consumer.lost) await consumer.recover(this.#stop.signal);
        if (consumer.buffered === 0) {
          await consumer.waitForMessages(500, this.#stop.signal);
          continue;
        }
        const batch = consumer.take(limit);
        limit = nextBatchLimit(limit, batch.length, this.#sizes);
        try {
          await this.#applyDelivered(batch);
          failures = 0;
        } catch (error) {
          failures += 1;
          this.#log.warn({ err: error, failures, size: batch.length }, 'process batch failed; messages handed back for redelivery');
          for (const d of batch) d.msg.nak(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
          await delay(Math.min(5_000, 50 * 2 ** Math.min(failures, 7)));
        }
      }
    } finally {
      clearInterval(stats);
    }
  }

  /** One delivered batch: malformed messages terminated, the rest handled in one transaction, acked after its commit. */
  async #applyDelivered(batch: readonly DeliveredEvent[]): Promise<void> {
    const events: RecordedEvent[] = [];
    const keep: JsMsg[] = [];
    for (const { msg, event } of batch) {
      if (event instanceof Error) {
        this.#log.error({ err: event, subject: msg.subject, seq: msg.seq }, 'malformed event message terminated');
        msg.term();
      } else {
        events.push(event);
        keep.push(msg);
      }
    }
    // Commands may take a while to be answered: keep JetStream from redelivering meanwhile.
    const working = setInterval(
      () => {
        for (const m of keep) m.working();
      },
      Math.max(500, this.#ackWaitMs / 3),
    );
    let report: BatchReport;
    try {
      report = await this.apply(events);
    } finally {
      clearInterval(working);
    }
    if (report.commands.length > 0) crashPoint(ProcessCrashPoint.AFTER_CHECKPOINT_BEFORE_ACK);
    // Ack after commit: a crash before this line redelivers the batch, which the positions drop.
    for (const m of keep) m.ack();
  }

  async #followFeed(from: FeedCheckpoint): Promise<void> {
    for await (const page of feedPages(this.#store, from, this.#sizes)) {
      if (this.#stop.signal.aborted) return;
      if (page.events.length === 0) {
        this.#reportLag(0);
        await delay(this.#feedPollIntervalMs);
        continue;
      }
      await this.apply(page.events, { feed: page.checkpoint });
    }
  }
}
