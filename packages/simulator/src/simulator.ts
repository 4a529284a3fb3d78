import { setMaxListeners } from 'node:events';
import type { RatchetClient } from '@ratchet/client';
import { requireItem } from '@ratchet/core';
import { Turnstile } from '@ratchet/turnstile';
import { LatencyHistogram } from './latency-histogram.js';
import { RatePacer } from './rate-pacer.js';
import { pickRiderScript, pickTurnstile, turnstileIds, type RiderCommand, type RiderMix } from './rider-script.js';
import { Technicians, type TechnicianCounts } from './technicians.js';

/** Options of {@link createSimulator}. */
export interface SimulatorOptions {
  /** The client commands go through. */
  readonly client: Pick<RatchetClient, 'send'>;
  /** Turnstiles in the station. Default 1,000. */
  readonly turnstiles?: number;
  /** Riders walking at once (commands in flight at most). Default 32. */
  readonly riders?: number;
  /** Target commands per second over all riders; 0 = as fast as possible. Default 0. */
  readonly rate?: number;
  /** Fraction of riders heading to the hot turnstiles. Default 0.2. */
  readonly skew?: number;
  /** How many turnstiles are hot. Default 5. */
  readonly hotTurnstiles?: number;
  /** Fraction of turnstiles left uninstalled at the start: riders meet them (rejections) until a technician installs them. Default 0.02. */
  readonly lateFraction?: number;
  /** Chance that a rider who found a turnstile uninstalled installs it. Default 0.1. */
  readonly technicianChance?: number;
  /** Kinds of riders. Default {@link RiderMix} defaults. */
  readonly mix?: RiderMix;
  /** Id prefix of the turnstiles. Default 't-'. */
  readonly idPrefix?: string;
  /**
   * Every this many ms a technician completes the visit at a random station (the turnstile app's
   * stations); 0 = no technicians. Default 0.
   */
  readonly technicianEveryMs?: number;
  /** Random source in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

/** Counts of one period. */
export interface SimulatorCounts {
  /** Commands sent (a retried command counts once). */
  readonly sent: number;
  /** Answered ok. */
  readonly ok: number;
  /** Refused by a business rule (e.g. a coin into an uninstalled turnstile): expected, not an error. */
  readonly rejected: number;
  /** Ended in an error reply or a timeout. */
  readonly failed: number;
}

/** One second of traffic. */
export interface SimulatorSecond extends SimulatorCounts {
  /** Start of the second, epoch ms. */
  readonly at: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** The whole run so far. */
export interface SimulatorStats extends SimulatorCounts {
  /** Commands sent and not yet answered. */
  readonly inFlight: number;
  /** Milliseconds since `start()`. */
  readonly elapsedMs: number;
  /** Answered commands per second over the run. */
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Failures by error code. */
  readonly errors: Readonly<Record<string, number>>;
  /** Turnstile ids of the station, in order. */
  readonly turnstiles: number;
  /** The technicians' commands, counted apart from the riders'. */
  readonly technicians: TechnicianCounts;
}

interface Bucket {
  at: number;
  sent: number;
  ok: number;
  rejected: number;
  failed: number;
  latency: LatencyHistogram;
}

const KEEP_SECONDS = 300;

/** Riders at turnstiles, sending commands through a Ratchet client. */
export class Simulator {
  readonly ids: readonly string[];
  readonly #client: SimulatorOptions['client'];
  readonly #riders: number;
  readonly #skew: number;
  readonly #hotTurnstiles: number;
  readonly #lateFraction: number;
  readonly #technicianChance: number;
  readonly #mix: RiderMix | undefined;
  readonly #technicianEveryMs: number;
  readonly #random: () => number;
  readonly #pacer: RatePacer;
  readonly #installed = new Set<string>();
  readonly #total = new LatencyHistogram();
  readonly #seconds: Bucket[] = [];
  readonly #errors: Record<string, number> = {};
  readonly #abort = new AbortController();
  readonly #technicians: Technicians;
  #counts = { sent: 0, ok: 0, rejected: 0, failed: 0 };
  #inFlight = 0;
  #startedAt = 0;
  #stoppedAt: number | undefined;
  #running: Promise<void> | undefined;

  constructor(options: SimulatorOptions) {
    this.#client = options.client;
    this.#riders = options.riders ?? 32;
    this.#skew = options.skew ?? 0.2;
    this.#hotTurnstiles = options.hotTurnstiles ?? 5;
    this.#lateFraction = options.lateFraction ?? 0.02;
    this.#technicianChance = options.technicianChance ?? 0.1;
    this.#mix = options.mix;
    this.#technicianEveryMs = options.technicianEveryMs ?? 0;
    this.#random = options.random ?? Math.random;
    this.#technicians = new Technicians(options.client, this.#technicianEveryMs, this.#random);
    this.ids = turnstileIds(options.turnstiles ?? 1_000, options.idPrefix ?? 't-');
    this.#pacer = new RatePacer(options.rate ?? 0);
    // Every waiting rider listens for the stop.
    setMaxListeners(this.#riders + 16, this.#abort.signal);
  }

  /** Target commands per second (0 = unpaced); can change while running. */
  get rate(): number {
    return this.#pacer.rate;
  }

  set rate(value: number) {
    this.#pacer.rate = value;
  }

  /** Install the turnstiles (all but the late ones), then let the riders loose until `stop()`. */
  start(): void {
    if (this.#running !== undefined) return;
    this.#startedAt = performance.now();
    this.#running = this.#run();
  }

  /** Stop the riders; resolves when every command in flight has its answer. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
    this.#stoppedAt ??= performance.now();
  }

  /** Totals of the run so far. */
  stats(): SimulatorStats {
    const elapsedMs = (this.#stoppedAt ?? performance.now()) - this.#startedAt || 0;
    const answered = this.#counts.ok + this.#counts.rejected + this.#counts.failed;
    return {
      ...this.#counts,
      inFlight: this.#inFlight,
      elapsedMs: Math.round(elapsedMs),
      throughput: elapsedMs > 0 ? Math.round((answered / elapsedMs) * 1_000 * 10) / 10 : 0,
      p50Ms: round(this.#total.percentile(0.5)),
      p99Ms: round(this.#total.percentile(0.99)),
      maxMs: round(this.#total.maxMs),
      errors: { ...this.#errors },
      turnstiles: this.ids.length,
      technicians: this.#technicians.counts,
    };
  }

  /** The last `count` completed seconds, oldest first. */
  recentSeconds(count = 60): SimulatorSecond[] {
    const current = Math.floor(Date.now() / 1_000) * 1_000;
    return this.#seconds
      .filter((b) => b.at < current)
      .slice(-count)
      .map((b) => ({
        at: b.at,
        sent: b.sent,
        ok: b.ok,
        rejected: b.rejected,
        failed: b.failed,
        p50Ms: round(b.latency.percentile(0.5)),
        p99Ms: round(b.latency.percentile(0.99)),
      }));
  }

  async #run(): Promise<void> {
    const technicians = this.#technicianEveryMs > 0 ? this.#technicians.run(this.#abort.signal) : Promise.resolve();
    await Promise.all([this.#ride(), technicians]);
  }

  async #ride(): Promise<void> {
    const random = this.#random;
    const lateCount = Math.floor(this.ids.length * this.#lateFraction);
    // Late turnstiles are spread over the station, never among the hot ones.
    const late = new Set<string>();
    for (let i = this.ids.length - 1; late.size < lateCount && i >= this.#hotTurnstiles; i -= 7)
      late.add(requireItem(this.ids, i, 'turnstile id'));
    const toInstall = this.ids.filter((id) => !late.has(id));
    let cursor = 0;
    await this.#crowd(async () => {
      while (!this.#abort.signal.aborted) {
        const id = toInstall[cursor++];
        if (id === undefined) break; // all taken
        await this.#send(id, 'install');
      }
    });
    await this.#crowd(async () => {
      while (!this.#abort.signal.aborted) {
        const index = pickTurnstile(random(), random(), this.ids.length, this.#skew, this.#hotTurnstiles);
        const id = requireItem(this.ids, index, 'turnstile id');
        for (const command of pickRiderScript(random(), this.#mix)) {
          if (this.#abort.signal.aborted) return;
          const outcome = await this.#send(id, command);
          if (outcome === 'rejected' && !this.#installed.has(id)) {
            if (random() < this.#technicianChance) await this.#send(id, 'install');
            break;
          }
        }
      }
    });
  }

  async #crowd(rider: () => Promise<void>): Promise<void> {
    await Promise.all(Array.from({ length: Math.max(1, this.#riders) }, rider));
  }

  async #send(id: string, command: RiderCommand): Promise<'ok' | 'rejected' | 'failed' | 'skipped'> {
    await this.#pacer.wait(this.#abort.signal);
    if (this.#abort.signal.aborted) return 'skipped';
    const bucket = this.#bucket();
    this.#counts.sent++;
    bucket.sent++;
    this.#inFlight++;
    const started = performance.now();
    const result = await this.#client.send(Turnstile, id, { type: command, payload: {} });
    const ms = performance.now() - started;
    this.#inFlight--;
    this.#total.record(ms);
    bucket.latency.record(ms);
    if (result.status === 'ok') {
      if (command === 'install') this.#installed.add(id);
      this.#counts.ok++;
      bucket.ok++;
      return 'ok';
    }
    if (result.status === 'rejected') {
      if (command === 'install') this.#installed.add(id); // "already installed"
      this.#counts.rejected++;
      bucket.rejected++;
      return 'rejected';
    }
    this.#counts.failed++;
    bucket.failed++;
    this.#errors[result.error.code] = (this.#errors[result.error.code] ?? 0) + 1;
    return 'failed';
  }

  #bucket(): Bucket {
    const at = Math.floor(Date.now() / 1_000) * 1_000;
    const last = this.#seconds[this.#seconds.length - 1];
    if (last !== undefined && last.at === at) return last;
    const bucket: Bucket = { at, sent: 0, ok: 0, rejected: 0, failed: 0, latency: new LatencyHistogram() };
    this.#seconds.push(bucket);
    if (this.#seconds.length > KEEP_SECONDS) this.#seconds.shift();
    return bucket;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * Create a simulator of riders at turnstiles. Rejections (a coin into an uninstalled turnstile,
 * a second install) are counted apart from failures: they are the domain saying no.
 * @example
 * const sim = createSimulator({ client, turnstiles: 1_000, riders: 32, rate: 500 });
 * sim.start();
 * await setTimeout(10_000);
 * await sim.stop();
 * console.log(sim.stats());
 */
export function createSimulator(options: SimulatorOptions): Simulator {
  return new Simulator(options);
}
