import type { RecordedEvent } from '@ratchet/core';
import type { Logger } from 'pino';
import type { ApplyReport, FeedProgress } from './apply-events.js';
import type { Projection } from './define-projection.js';
import { PROJECTIONS_SCHEMA } from './define-projection.js';
import { storeGapReader } from './read-gap.js';
import type { BatchHooks } from './run-batch.js';
import { runBatch } from './run-batch.js';
import type { RunnerSettings } from './runner-settings.js';

const S = `"${PROJECTIONS_SCHEMA}"`;

/** Extra work for one {@link VersionApplier.apply}. */
export interface ApplyExtra {
  /** Work committed in the same transaction (unparking, for retries of parked events). */
  readonly hooks?: BatchHooks;
  /** Feed mode and rebuilds: the feed position the batch reaches, saved with it. */
  readonly feed?: FeedProgress;
}

/**
 * The one way events reach a projection version's read model, whatever their source (JetStream,
 * the feed, a retry of parked events): one read-model transaction per batch ({@link runBatch}),
 * counted in the metrics; parked events are logged and recounted into the gauge.
 */
export class VersionApplier {
  readonly #projection: Projection;
  readonly #pool: RunnerSettings['pool'];
  readonly #store: RunnerSettings['store'];
  readonly #metrics: RunnerSettings['metrics'];
  readonly #maxAttempts: number;
  readonly #retryBackoffMs: number;
  readonly #log: Logger;
  #lastRecordedAt: Date | null = null;

  constructor(projection: Projection, settings: RunnerSettings, log: Logger) {
    this.#projection = projection;
    this.#pool = settings.pool;
    this.#store = settings.store;
    this.#metrics = settings.metrics;
    this.#maxAttempts = settings.maxAttempts;
    this.#retryBackoffMs = settings.retryBackoffMs;
    this.#log = log;
  }

  /** When the newest event applied here was recorded (null before the first), for the lag in seconds. */
  get lastRecordedAt(): Date | null {
    return this.#lastRecordedAt;
  }

  /**
   * Apply a batch in one read-model transaction; the high-water marks (and feed checkpoint) move
   * with it. Sealed sensitive values are opened first, here and in gap reads, so handlers see
   * values — or their placeholders once forgotten — whatever the source; a value that cannot be
   * opened (SENSITIVE_DATA_UNREADABLE: a missing or wrong key) fails the batch, which is retried.
   */
  async apply(stored: readonly RecordedEvent[], extra: ApplyExtra = {}): Promise<ApplyReport> {
    const p = this.#projection;
    const m = this.#metrics;
    const cipher = this.#store.cipher;
    const end = m.batchSeconds.startTimer({ projection: p.key });
    const events = cipher === undefined ? stored : await cipher.openEvents(stored);
    const report = await runBatch(
      this.#pool,
      p,
      events,
      {
        maxAttempts: this.#maxAttempts,
        retryBackoffMs: this.#retryBackoffMs,
        readGap: storeGapReader(this.#store),
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
    const p = this.#projection;
    const res = await this.#pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${S}.parked WHERE name = $1 AND version = $2`, [
      p.name,
      p.version,
    ]);
    this.#metrics.parked.set({ projection: p.key }, Number(res.rows[0]?.n ?? 0));
  }
}
