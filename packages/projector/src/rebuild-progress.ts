import type { VersionRun } from './version-run.js';

/**
 * A rebuild's progress: feed events read against the feed's size, the rate and the time left,
 * exported as the `ratchet_projection_rebuild_*` gauges and the lag, and logged once a second.
 */
export class RebuildProgress {
  readonly #run: VersionRun;
  /** Feed events read before this process took the rebuild over (a restart resumes). */
  readonly #doneBefore: number;
  #done: number;
  #total: number;
  readonly #startedAt = Date.now();
  #loggedAt = 0;
  #totalAt: number;

  private constructor(run: VersionRun, doneBefore: number, total: number) {
    this.#run = run;
    this.#doneBefore = doneBefore;
    this.#done = doneBefore;
    this.#total = total;
    this.#totalAt = this.#startedAt;
  }

  /** Start counting from `doneBefore` events read, against the feed's size now. */
  static async start(run: VersionRun, doneBefore: number, fence: string): Promise<RebuildProgress> {
    const total = Math.max(doneBefore, (await run.settings.store.feedHead()).eventCount);
    run.log.info({ done: doneBefore, total, fence }, 'rebuild from the event store feed started');
    return new RebuildProgress(run, doneBefore, total);
  }

  /** A page of `events` was applied: update the gauges and lag; the feed's size is read again every 5 s. */
  async advance(events: number): Promise<void> {
    const m = this.#run.settings.metrics;
    const key = this.#run.projection.key;
    this.#done += events;
    const now = Date.now();
    if (now - this.#totalAt > 5_000) {
      this.#total = Math.max(this.#done, (await this.#run.settings.store.feedHead()).eventCount);
      this.#totalAt = now;
    }
    const done = this.#done;
    const total = (this.#total = Math.max(this.#total, done));
    const rate = ((done - this.#doneBefore) * 1000) / Math.max(1, now - this.#startedAt);
    const eta = rate > 0 ? (total - done) / rate : null;
    this.#run.reportLag(total - done);
    m.rebuildDone.set({ projection: key }, done);
    m.rebuildTotal.set({ projection: key }, total);
    m.rebuildRate.set({ projection: key }, rate);
    m.rebuildEtaSeconds.set({ projection: key }, eta ?? -1);
    if (now - this.#loggedAt >= 1_000) {
      this.#loggedAt = now;
      this.#run.log.info({ done, total, rate: Math.round(rate), etaSeconds: eta === null ? null : Math.round(eta) }, 'rebuild progress');
    }
  }

  /** The feed was read up to the fence. */
  finish(): void {
    const m = this.#run.settings.metrics;
    const key = this.#run.projection.key;
    const next = this.#run.settings.jetstream === undefined ? 'following the feed' : 'JetStream';
    this.#run.log.info(
      { done: this.#done, seconds: (Date.now() - this.#startedAt) / 1000 },
      `rebuild reached the fence; switching to ${next}`,
    );
    m.rebuildDone.set({ projection: key }, this.#done);
    m.rebuildEtaSeconds.set({ projection: key }, 0);
  }
}
