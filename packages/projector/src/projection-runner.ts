import type { RecordedEvent } from '@ratchet/core';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { ApplyReport } from './apply-events.js';
import type { Projection } from './define-projection.js';
import { DurableConsumer } from './durable-consumer.js';
import { followFeed } from './follow-feed.js';
import { followJetStream } from './follow-jetstream.js';
import { rebuildFromFeed } from './rebuild-from-feed.js';
import { runWithRestarts } from './run-with-restarts.js';
import type { BatchHooks } from './run-batch.js';
import type { RunnerSettings } from './runner-settings.js';
import { VersionApplier } from './version-applier.js';
import { VersionRegistry } from './version-registry.js';
import type { VersionRun } from './version-run.js';

/** Where a projection version is. */
export type RunnerPhase = 'starting' | 'building' | 'following' | 'retrying' | 'stopped';

/**
 * Runs one projection version: registers it with its tables, builds it from the Postgres feed
 * when it is new ({@link rebuildFromFeed}), then follows its durable JetStream consumer
 * ({@link followJetStream}) or, without NATS, the feed ({@link followFeed}). Every batch is one
 * read-model transaction through the {@link VersionApplier}.
 */
export class ProjectionRunner {
  readonly projection: Projection;
  /** Passed on whole to the rebuild and the followers (through {@link VersionRun}). */
  readonly #settings: RunnerSettings;
  readonly #log: Logger;
  readonly #registry: VersionRegistry;
  readonly #applier: VersionApplier;
  /** Undefined in feed mode. */
  readonly #consumer: DurableConsumer | undefined;
  readonly #stop = new AbortController();
  #phase: RunnerPhase = 'starting';
  #lagEvents = 0;
  #loop: Promise<void> | undefined;
  readonly #started: Promise<void>;
  #resolveStarted!: () => void;

  constructor(projection: Projection, settings: RunnerSettings) {
    this.projection = projection;
    this.#settings = settings;
    this.#log = settings.logger.child({ projection: projection.key });
    this.#registry = new VersionRegistry(projection, settings.pool, settings.storePool);
    this.#applier = new VersionApplier(projection, settings, this.#log);
    this.#consumer =
      settings.jetstream === undefined ? undefined : new DurableConsumer(projection, settings.jetstream, settings, this.#log);
    this.#started = new Promise((resolve) => {
      this.#resolveStarted = resolve;
    });
  }

  /** Where the version is: starting, building from the feed, following, retrying after an error, stopped. */
  get phase(): RunnerPhase {
    return this.#phase;
  }

  /** Events not yet applied, as last reported (consumer pending and unacked, or feed events left while building). */
  get lagEvents(): number {
    return this.#lagEvents;
  }

  /** Resolves once the version follows its source (after its build, if any). */
  following(): Promise<void> {
    return this.#started;
  }

  /** Create the tables and start building or following in the background. */
  async start(): Promise<void> {
    await this.#registry.register();
    this.#loop = this.#supervise();
  }

  /**
   * Run, and after any error that escapes (Postgres or NATS gone at a bad moment, a consumer lost)
   * start over from the saved positions with backoff, until stopped. A projector that is up must
   * keep projecting: the fault campaign once found one alive, healthy and stalled for good.
   */
  async #supervise(): Promise<void> {
    await runWithRestarts(
      () => this.#run(),
      this.#stop.signal,
      async (error, failures, retryInMs) => {
        this.#phase = 'retrying';
        this.#log.error({ err: error, failures, retryInMs }, 'projection failed; starting over from its saved position');
        await this.#consumer?.close();
      },
    );
  }

  /** Drain: stop pulling, finish the batch in hand (commit and ack), hand the rest back. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    await this.#consumer?.close();
    this.#phase = 'stopped';
  }

  /** The path of one version: build from the feed if it is new, then follow JetStream (or the feed). */
  async #run(): Promise<void> {
    const p = this.projection;
    const state = await this.#registry.state();
    const consumer = this.#consumer;
    const versionRun = this.#versionRun();
    if (state.status === 'building') {
      // The consumer exists before the fence is taken: an event is either in a transaction below
      // the fence (the feed has it) or commits after the consumer existed (JetStream has it).
      await consumer?.ensure(DeliverPolicy.New);
      const fence = state.fence ?? (await this.#registry.takeFence());
      this.#phase = 'building';
      if (!(await rebuildFromFeed(versionRun, state.feed, fence, state.feedEvents))) return;
      await this.#registry.markFollowing();
    } else {
      await consumer?.ensure(DeliverPolicy.All);
    }
    if (this.#stop.signal.aborted) return;
    await this.#settings.onFollowing(p);
    this.#phase = 'following';
    this.#resolveStarted();
    if (consumer === undefined) {
      this.#log.info('following the event store feed');
      await followFeed(versionRun, (await this.#registry.state()).feed);
    } else {
      this.#log.info('following JetStream');
      await followJetStream(versionRun, consumer);
    }
  }

  #versionRun(): VersionRun {
    return {
      projection: this.projection,
      settings: this.#settings,
      log: this.#log,
      applier: this.#applier,
      signal: this.#stop.signal,
      reportLag: (events) => {
        this.#lagEvents = events;
        this.#settings.metrics.lagEvents.set({ projection: this.projection.key }, events);
      },
    };
  }

  /** Recount this version's parked streams into the gauge. */
  refreshParked(): Promise<void> {
    return this.#applier.refreshParked();
  }

  /** Apply events outside the followed flow (parked retries), with hooks in the same transaction. */
  applyDirect(events: readonly RecordedEvent[], hooks: BatchHooks): Promise<ApplyReport> {
    return this.#applier.apply(events, { hooks });
  }
}
