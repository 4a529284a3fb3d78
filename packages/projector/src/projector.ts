import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, RatchetError, ValidationError } from '@ratchet/core';
import type { NatsConnection } from '@nats-io/transport-node';
import { handlePoolErrors } from '@ratchet/event-store-postgres';
import pg from 'pg';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { activateVersion } from './activate-version.js';
import type { Projection } from './define-projection.js';
import { PROJECTIONS_SCHEMA } from './define-projection.js';
import { inTransaction } from './in-transaction.js';
import { openJetStream, type JetStreamOptions } from './open-jetstream.js';
import { readParkedEvents, type ParkedRecord } from './parked-events.js';
import { migrateProjectionSchema } from './projection-schema.js';
import { ProjectionRunner } from './projection-runner.js';
import type { RunnerPhase } from './projection-runner.js';
import { ProjectorMetrics } from './projector-metrics.js';
import type { ProjectorStore } from './projector-store.js';
import type { JetStreamAccess, RunnerSettings } from './runner-settings.js';

const S = `"${PROJECTIONS_SCHEMA}"`;

/** Options of {@link createProjector}. Give `pool` or `connectionString`. */
export interface ProjectorOptions {
  /** NATS connection for JetStream; required unless `source` is 'feed'. */
  readonly nats?: NatsConnection;
  /**
   * Where events come from: 'jetstream' (durable consumers) or 'feed' (poll the event store's feed,
   * checkpointed in the read-model transaction; no NATS needed, for embedded mode). Default 'jetstream'.
   */
  readonly source?: 'jetstream' | 'feed';
  /** How often the feed is polled when it is empty, with `source: 'feed'` (ms). Default 20. */
  readonly feedPollIntervalMs?: number;
  /** The event store: gaps and rebuilds read it. */
  readonly store: ProjectorStore;
  /** Pool on the read-model database; `stop()` leaves it open. */
  readonly pool?: pg.Pool;
  /** Read-model database URL; the projector creates (and `stop()` ends) its own pool. */
  readonly connectionString?: string;
  /** Pool on the event store's database, for the rebuild fence. Default: the read-model pool (same database). */
  readonly storePool?: pg.Pool;
  /** Projection versions to run; several versions of one name run side by side. */
  readonly projections: readonly Projection[];
  /** Events per read-model transaction while the projection keeps up. Default 200. */
  readonly batchSize?: number;
  /**
   * While a backlog waits (catch-up, rebuild): after a full batch, the next one may take up to this
   * many events, so fewer transactions carry the backlog; the first batch that is not full sets the
   * limit back to `batchSize`. At least `batchSize`; equal to it turns growth off. Default 2,000 (or
   * `batchSize`, if larger).
   */
  readonly maxBatchSize?: number;
  /** Handler attempts before an event is parked. Default 5. */
  readonly maxAttempts?: number;
  /** Pause before a handler's first retry (ms), doubled each time. Default 20. */
  readonly retryBackoffMs?: number;
  /** Switch readers to a version as soon as it finished building and is newer than the active one. Default true. */
  readonly autoSwitch?: boolean;
  /** Schema of the stable views. Default 'public'. */
  readonly viewSchema?: string;
  /** JetStream ack wait of the consumers (ms). Default 30,000. */
  readonly ackWaitMs?: number;
  /** JetStream stream name. Default RATCHET_EVENTS. */
  readonly streamName?: string;
  /** Event subject prefix. Default 'ratchet.evt'. */
  readonly subjectPrefix?: string;
  /** Interval of the lag probes (ms). Default 1,000. */
  readonly statsIntervalMs?: number;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Metrics, or a registry to create them in. Default: a new registry. */
  readonly metrics?: ProjectorMetrics;
  readonly registry?: Registry;
}

/** What {@link Projector.retryParked} did. */
export interface RetryReport {
  /** Streams now caught up. */
  readonly released: string[];
  /** Streams whose event failed again and stays parked. */
  readonly stillParked: string[];
}

/** One projection version's state. */
export interface ProjectionStatus {
  readonly projection: string;
  readonly phase: RunnerPhase;
  readonly lagEvents: number;
}

/** Runs projection versions: JetStream consumers, rebuilds, parked events, read-your-writes. */
export class Projector {
  readonly metrics: ProjectorMetrics;
  readonly #projections: readonly Projection[];
  readonly #store: ProjectorStore;
  /** Undefined in feed mode. */
  readonly #nats: NatsConnection | undefined;
  readonly #jetstreamOptions: JetStreamOptions;
  readonly #autoSwitch: boolean;
  readonly #viewSchema: string | undefined;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #log: Logger;
  /** What every runner shares but JetStream, which `start()` opens. */
  readonly #runnerSettings: Omit<RunnerSettings, 'jetstream'>;
  readonly #runners: ProjectionRunner[] = [];
  /** Opened by `start()`; undefined in feed mode. */
  #jetstream: JetStreamAccess | undefined;
  #started = false;
  /** Stops hearing forgets. */
  #forgets: (() => Promise<void>) | undefined;

  constructor(options: ProjectorOptions) {
    if (options.projections.length === 0) {
      throw new ValidationError('no projections', [{ path: ['projections'], message: 'give at least one projection' }]);
    }
    const keys = new Set<string>();
    for (const p of options.projections) {
      if (keys.has(p.key)) throw new ValidationError(`projection ${p.key} given twice`, [{ path: ['projections'], message: 'duplicate' }]);
      keys.add(p.key);
    }
    for (const key of ['batchSize', 'maxBatchSize'] as const) {
      const n = options[key];
      if (n !== undefined && (!Number.isSafeInteger(n) || n < 1)) {
        throw new ValidationError(`${key} must be a positive integer`, [{ path: [key], message: 'positive integer' }]);
      }
    }
    if (options.maxBatchSize !== undefined && options.maxBatchSize < (options.batchSize ?? 200)) {
      throw new ValidationError('maxBatchSize is below batchSize', [{ path: ['maxBatchSize'], message: 'at least batchSize' }]);
    }
    if (options.source !== 'feed' && options.nats === undefined) {
      throw new ValidationError('nats is required', [{ path: ['nats'], message: "required unless source is 'feed'" }]);
    }
    this.#projections = options.projections;
    this.#store = options.store;
    this.#nats = options.source === 'feed' ? undefined : options.nats;
    this.#jetstreamOptions = { streamName: options.streamName, subjectPrefix: options.subjectPrefix, ackWaitMs: options.ackWaitMs };
    this.#autoSwitch = options.autoSwitch !== false;
    this.#viewSchema = options.viewSchema;
    this.#ownsPool = options.pool === undefined;
    if (options.pool !== undefined) this.#pool = options.pool;
    else if (options.connectionString !== undefined) {
      // A server going away fails the batch in hand (it is redelivered); it must not crash the process.
      this.#pool = handlePoolErrors(new pg.Pool({ connectionString: options.connectionString, max: options.projections.length + 4 }));
    } else {
      throw new ValidationError('pool or connectionString is required', [{ path: ['pool'], message: 'required' }]);
    }
    this.#log = options.logger ?? pino({ level: 'silent' });
    this.metrics = options.metrics ?? new ProjectorMetrics(options.registry);
    const batchSize = options.batchSize ?? 200;
    this.#runnerSettings = {
      pool: this.#pool,
      storePool: options.storePool ?? this.#pool,
      store: options.store,
      feedPollIntervalMs: options.feedPollIntervalMs ?? 20,
      statsIntervalMs: options.statsIntervalMs ?? 1_000,
      batchSize,
      maxBatchSize: options.maxBatchSize ?? Math.max(2_000, batchSize),
      maxAttempts: options.maxAttempts ?? 5,
      retryBackoffMs: options.retryBackoffMs ?? 20,
      logger: this.#log,
      metrics: this.metrics,
      onFollowing: (p: Projection) => this.#afterBuild(p),
    };
  }

  /** Whether every version has started (building or following). */
  get ready(): boolean {
    return this.#started && this.#runners.every((r) => r.phase === 'building' || r.phase === 'following');
  }

  /** Create the projector's tables and every version's tables, then build or follow each version in the background. */
  async start(): Promise<void> {
    await migrateProjectionSchema(this.#pool);
    this.#jetstream = this.#nats === undefined ? undefined : await openJetStream(this.#nats, this.#jetstreamOptions);
    const settings: RunnerSettings = { ...this.#runnerSettings, jetstream: this.#jetstream };
    // Hear forgets, so a key cached for a sealed value is dropped the moment its subject is forgotten
    // (a rebuild right after a forget must not open the value); the LISTEN starts with the first key needed.
    this.#forgets = this.#store.cipher?.onForget(() => undefined);
    for (const p of this.#projections) {
      const runner = new ProjectionRunner(p, settings);
      await runner.start();
      await runner.refreshParked();
      this.#runners.push(runner);
    }
    this.#started = true;
  }

  async #afterBuild(p: Projection): Promise<void> {
    const active = await this.activeVersion(p.name);
    if (active === null || (this.#autoSwitch && active < p.version)) {
      const switched = await activateVersion(this.#pool, p.name, p.version, { viewSchema: this.#viewSchema });
      if (switched) this.#log.info({ projection: p.key, from: active }, 'projection switched: readers now see this version');
    }
  }

  /** Resolves when the version has finished building and follows JetStream. */
  async whenFollowing(name: string, version: number): Promise<void> {
    await this.#runner(name, version).following();
  }

  /** The version readers see through the stable views, or null before the first switch. */
  async activeVersion(name: string): Promise<number | null> {
    const res = await this.#pool.query<{ version: number }>(`SELECT version FROM ${S}.active WHERE name = $1`, [name]);
    return res.rows[0]?.version ?? null;
  }

  /** Point the stable views at `version` now (`force` allows going back to an older one). */
  async activate(name: string, version: number, options: { force?: boolean } = {}): Promise<boolean> {
    return activateVersion(this.#pool, name, version, { viewSchema: this.#viewSchema, force: options.force });
  }

  /**
   * Read-your-writes: resolve when the projection has applied `streamId` up to `version`; reject
   * with RatchetError(TIMEOUT) after `timeoutMs`. The active version is awaited, else the newest run here.
   */
  async waitFor(name: string, streamId: string, version: number, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const projectionVersion = (await this.activeVersion(name)) ?? this.#newest(name);
      const res = await this.#pool.query<{ last_version: number }>(
        `SELECT last_version FROM ${S}.positions WHERE name = $1 AND version = $2 AND stream_id = $3`,
        [name, projectionVersion, streamId],
      );
      if ((res.rows[0]?.last_version ?? 0) >= version) return;
      if (Date.now() >= deadline) {
        throw new RatchetError(ErrorCode.TIMEOUT, `projection ${name} did not reach ${streamId}@${version} within ${timeoutMs} ms`, {
          details: { projection: name, projectionVersion, streamId, version, applied: res.rows[0]?.last_version ?? 0 },
        });
      }
      await delay(Math.min(25, Math.max(1, deadline - Date.now())));
    }
  }

  /** Parked events, oldest first, of one projection name or all. */
  async listParked(name?: string): Promise<ParkedRecord[]> {
    return readParkedEvents(this.#pool, name);
  }

  /**
   * Retry parked events (after a fix was deployed): each stream is unparked and its events from
   * the parked one to the end are read from the store and applied in one transaction; an event
   * that fails again is parked again.
   */
  async retryParked(name: string, streamId?: string): Promise<RetryReport> {
    const released: string[] = [];
    const stillParked: string[] = [];
    for (const runner of this.#runners.filter((r) => r.projection.name === name)) {
      const p = runner.projection;
      const rows = await this.#pool.query<{ stream_id: string; event_version: number }>(
        `SELECT stream_id, event_version FROM ${S}.parked WHERE name = $1 AND version = $2 AND ($3::text IS NULL OR stream_id = $3)`,
        [p.name, p.version, streamId ?? null],
      );
      for (const row of rows.rows) {
        const events = await this.#store.readStream(row.stream_id, { fromVersion: row.event_version });
        let unparked = false;
        const report = await runner.applyDirect(events, {
          before: async (client) => {
            await client.query(`UPDATE ${S}.positions SET parked_version = NULL WHERE name = $1 AND version = $2 AND stream_id = $3`, [
              p.name,
              p.version,
              row.stream_id,
            ]);
          },
          after: async (client, r) => {
            if (r.parked.length === 0) {
              await client.query(`DELETE FROM ${S}.parked WHERE name = $1 AND version = $2 AND stream_id = $3`, [
                p.name,
                p.version,
                row.stream_id,
              ]);
              unparked = true;
            }
          },
        });
        (unparked && report.parked.length === 0 ? released : stillParked).push(row.stream_id);
      }
      await runner.refreshParked();
    }
    this.#log.info({ projection: name, released, stillParked }, 'parked events retried');
    return { released, stillParked };
  }

  /**
   * Drop a superseded version: its tables, positions, parked events and JetStream consumer.
   * Default: every version older than the active one. Refuses the active version. Stop the
   * processes that still run that version first, or their handlers fail and park.
   */
  async dropOld(name: string, version?: number): Promise<number[]> {
    const active = await this.activeVersion(name);
    const res = await this.#pool.query<{ version: number; tables: string[] }>(
      `SELECT version, tables FROM ${S}.versions WHERE name = $1 AND ($2::int IS NULL OR version = $2) AND ($2::int IS NOT NULL OR version < $3)`,
      [name, version ?? null, active ?? 0],
    );
    const dropped: number[] = [];
    for (const row of res.rows) {
      if (row.version === active)
        throw new ValidationError(`version ${row.version} of ${name} is active`, [{ path: ['version'], message: 'active' }]);
      const runner = this.#runners.find((r) => r.projection.name === name && r.projection.version === row.version);
      if (runner !== undefined) {
        await runner.stop();
        this.#runners.splice(this.#runners.indexOf(runner), 1);
      }
      await inTransaction(this.#pool, async (client) => {
        for (const t of row.tables) await client.query(`DROP TABLE IF EXISTS ${S}."proj_${t}_v${row.version}"`);
        for (const table of ['positions', 'parked', 'versions']) {
          await client.query(`DELETE FROM ${S}.${table} WHERE name = $1 AND version = $2`, [name, row.version]);
        }
      });
      await this.#jetstream?.jsm.consumers.delete(this.#jetstream.streamName, `proj_${name}_v${row.version}`).catch(() => undefined);
      this.#log.info({ projection: `${name}@v${row.version}` }, 'old projection version dropped');
      dropped.push(row.version);
    }
    return dropped;
  }

  /** Each version's phase and lag. */
  status(): ProjectionStatus[] {
    return this.#runners.map((r) => ({ projection: r.projection.key, phase: r.phase, lagEvents: r.lagEvents }));
  }

  /** Drain: stop pulling, finish and commit the batches in hand, ack them; ends the pool if the projector made it. */
  async stop(): Promise<void> {
    await Promise.all(this.#runners.map((r) => r.stop()));
    await this.#forgets?.();
    this.#forgets = undefined;
    if (this.#ownsPool) await this.#pool.end();
  }

  #runner(name: string, version: number): ProjectionRunner {
    const r = this.#runners.find((x) => x.projection.name === name && x.projection.version === version);
    if (r === undefined)
      throw new ValidationError(`projection ${name}@v${version} is not run here`, [{ path: ['name'], message: 'unknown' }]);
    return r;
  }

  #newest(name: string): number {
    const versions = this.#projections.filter((p) => p.name === name).map((p) => p.version);
    if (versions.length === 0) throw new ValidationError(`projection ${name} is not run here`, [{ path: ['name'], message: 'unknown' }]);
    return Math.max(...versions);
  }
}

/**
 * Create a projector; `start()` it, `stop()` it to drain.
 * @example
 * const projector = createProjector({ nats, store, connectionString: process.env.DATABASE_URL, projections: [turnstileProjection] });
 * await projector.start();
 * await projector.waitFor('turnstile', 'turnstile/t-1', 3);
 */
export function createProjector(options: ProjectorOptions): Projector {
  return new Projector(options);
}
