import type { StoredTimer, TimerStore } from '@ratchet/event-store-postgres';
import type { Logger } from 'pino';

/** Options of {@link TimerScheduler}. */
export interface TimerSchedulerOptions {
  readonly store: Pick<TimerStore, 'dueTimers' | 'nextTimerDueInMs'>;
  /** The partitions whose timers this worker fires now (those it serves). */
  readonly partitions: () => readonly number[];
  /**
   * Fire one timer (on its actor); resolves whether it could run: false when it was left for later
   * (this worker may not answer for the partition now, or the store failed).
   */
  readonly fire: (timer: StoredTimer) => Promise<boolean>;
  /** Most fires in flight at once. Default 512. */
  readonly maxInFlight?: number;
  /** Longest sleep between looks at the table (ms): bounds how late a timer started by another worker is seen. Default 1,000. */
  readonly pollIntervalMs?: number;
  readonly logger: Logger;
}

/**
 * Fires the due timers of the partitions this worker serves, earliest first: reads what is due,
 * hands each timer to `fire` (bounded in flight, never the same timer twice at once), and sleeps
 * until the next one is due, at most `pollIntervalMs`, or until `wake` says a sooner one was started.
 * Late timers (after an outage or a handover) are all due at once and fire in due order.
 */
export class TimerScheduler {
  readonly #options: TimerSchedulerOptions;
  readonly #maxInFlight: number;
  readonly #pollIntervalMs: number;
  readonly #inFlight = new Map<string, Promise<void>>();
  /** A fire could not run (lease lapsed, store failing): look again after a pause, not at once. */
  #backOff = false;
  #running = false;
  #loop: Promise<void> | undefined;
  #sleeping: { until: number; wake: () => void } | undefined;
  #failing = false;
  #fired = 0;

  constructor(options: TimerSchedulerOptions) {
    this.#options = options;
    this.#maxInFlight = options.maxInFlight ?? 512;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
  }

  /** Timers handed to `fire` so far. */
  get fired(): number {
    return this.#fired;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stop looking for due timers and wait for the fires in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#sleeping?.wake();
    await this.#loop;
    await Promise.all(this.#inFlight.values());
  }

  /** A timer due in `dueInMs` was just started here: look again by then. */
  wake(dueInMs: number): void {
    const sleeping = this.#sleeping;
    if (sleeping !== undefined && performance.now() + dueInMs < sleeping.until) sleeping.wake();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        await this.#step();
        if (this.#failing) this.#options.logger.info('timer scheduler recovered');
        this.#failing = false;
      } catch (error) {
        if (!this.#failing) this.#options.logger.warn({ err: error }, 'timer scheduler failed to read due timers; retrying');
        this.#failing = true;
        await this.#sleep(this.#pollIntervalMs);
      }
    }
  }

  async #step(): Promise<void> {
    if (this.#backOff) {
      this.#backOff = false;
      return this.#sleep(Math.min(this.#pollIntervalMs, 250));
    }
    const partitions = this.#options.partitions();
    if (partitions.length === 0) return this.#sleep(this.#pollIntervalMs);
    const room = this.#maxInFlight - this.#inFlight.size;
    if (room <= 0) {
      await Promise.race(this.#inFlight.values());
      return;
    }
    const due = await this.#options.store.dueTimers(partitions, Math.min(room, 1_000));
    let started = 0;
    for (const timer of due) {
      const key = `${timer.streamId}\u0000${timer.timerId}\u0000${timer.startedVersion}`;
      if (this.#inFlight.has(key)) continue;
      started += 1;
      this.#fired += 1;
      const fire = this.#options
        .fire(timer)
        .then((ran) => {
          if (!ran) this.#backOff = true;
        })
        .catch((error: unknown) => {
          this.#backOff = true;
          this.#options.logger.warn({ err: error, streamId: timer.streamId, timerId: timer.timerId }, 'timer fire failed');
        })
        .finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, fire);
    }
    if (due.length === Math.min(room, 1_000) && started > 0) return; // more may be due: look again at once
    if (started === 0 && this.#inFlight.size > 0) {
      // Everything due is being fired: wait for one to finish (it removes its row) before reading again.
      await Promise.race([...this.#inFlight.values(), this.#sleep(this.#pollIntervalMs)]);
      return;
    }
    const next = await this.#options.store.nextTimerDueInMs(partitions);
    await this.#sleep(next === null ? this.#pollIntervalMs : Math.min(this.#pollIntervalMs, Math.max(next, 1)));
  }

  #sleep(ms: number): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const until = performance.now() + ms;
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.#sleeping?.until === until) self.#sleeping = undefined;
        resolve();
      }
      this.#sleeping = { until, wake: done };
    });
  }
}
