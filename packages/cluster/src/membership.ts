import { performance } from 'node:perf_hooks';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, RatchetError, ValidationError } from '@ratchet/core';
import { pino, type Logger } from 'pino';
import { parseMemberRecord, type MemberRecord } from './member-record.js';

/** Options of {@link createMembership}. */
export interface MembershipOptions {
  /** A connected NATS client with JetStream; the membership never closes it. */
  readonly nats: NatsConnection;
  /** This member's id, used as its key: letters, digits, `-`, `_`, `=`, `/`, inner dots. */
  readonly workerId: string;
  /** KV bucket holding one key per live member. Default `'ratchet_members'`. */
  readonly bucket?: string;
  /** How often to write the heartbeat and re-read the member set, in ms. Default 1 000. */
  readonly heartbeatIntervalMs?: number;
  /** Bucket TTL: a key not rewritten for this long is removed, in ms; must exceed the heartbeat interval. Default 5 000. */
  readonly ttlMs?: number;
  /** Replicas of the bucket when this call creates it (1 on one server, 3 on a 3-node cluster). Default 1. */
  readonly replicas?: number;
  /** Logger; default silent. */
  readonly logger?: Logger;
  /** Free-form details published with the heartbeat (e.g. `{ httpPort: 8080 }`). Default `{}`. */
  readonly info?: Readonly<Record<string, unknown>>;
}

/** Called with the sorted live member ids whenever that set changes. */
export type MembershipListener = (members: readonly string[]) => void;

/** This process's view of the cluster: who is alive, by heartbeats in a NATS KV bucket. A routing hint, never a lock. */
export interface Membership {
  /** This member's id. */
  readonly workerId: string;
  /** The live member ids as of the last poll, sorted (frozen once stopped or left). */
  members(): readonly string[];
  /** The live members' published records as of the last poll, sorted by id. */
  records(): readonly MemberRecord[];
  /** Call `listener` with the sorted member ids on every change; returns a function that unsubscribes. */
  onChange(listener: MembershipListener): () => void;
  /** Planned leave: stop heartbeating and delete this member's key, so peers drop it at their next poll. Idempotent. */
  leave(): Promise<void>;
  /** Stop heartbeating and polling without deleting the key (peers drop it once the TTL expires). Idempotent. */
  stop(): Promise<void>;
}

const VALID_ID = /^[-/=\w]+(\.[-/=\w]+)*$/;
const MAX_ID_LENGTH = 256;

/**
 * Join the cluster: create or open the membership bucket (bucket TTL = `ttlMs`), write this member's
 * heartbeat every `heartbeatIntervalMs` and re-read the member set at the same pace.
 *
 * A member that crashes disappears from its peers' views within `ttlMs + heartbeatIntervalMs`
 * (its key expires `ttlMs` after its last heartbeat; peers see that at their next poll). NATS
 * server 2.9 sends no watch event on expiry, which is why peers poll rather than watch.
 * Resolves after the first heartbeat and poll, so `members()` already includes this member.
 *
 * @throws ValidationError on a bad id or timing; RatchetError `STORE_UNAVAILABLE` when the bucket or first heartbeat fails.
 * @example
 * const membership = await createMembership({ nats: nc, workerId: 'worker-1', info: { httpPort: 8080 } });
 * membership.onChange((members) => rebalance(assignPartitions(members, 64)));
 * // on SIGTERM:
 * await membership.leave();
 */
export async function createMembership(options: MembershipOptions): Promise<Membership> {
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
  const ttlMs = options.ttlMs ?? 5_000;
  const bucket = options.bucket ?? 'ratchet_members';
  validate(options.workerId, heartbeatIntervalMs, ttlMs);
  const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'membership', worker: options.workerId });

  let kv: KV;
  try {
    kv = await new Kvm(options.nats).create(bucket, { ttl: ttlMs, history: 1, replicas: options.replicas ?? 1 });
  } catch (cause) {
    throw new RatchetError(ErrorCode.STORE_UNAVAILABLE, `cannot open membership bucket ${bucket}`, { cause });
  }
  // An existing bucket keeps the TTL it was created with; the reader-side staleness check still applies ours.
  const status = await kv.status().catch(() => undefined);
  if (status !== undefined && status.ttl !== ttlMs) {
    log.warn(
      { bucket, bucketTtlMs: status.ttl, ttlMs },
      'membership bucket has a different TTL; peers are also dropped by ttlMs on this reader',
    );
  }
  const membership = new KvMembership(kv, options.workerId, heartbeatIntervalMs, ttlMs, options.info ?? {}, log);
  try {
    await membership.start();
  } catch (cause) {
    await membership.stop();
    throw new RatchetError(ErrorCode.STORE_UNAVAILABLE, `cannot write the first heartbeat to ${bucket}`, { cause });
  }
  return membership;
}

function validate(workerId: string, heartbeatIntervalMs: number, ttlMs: number): void {
  const issues = [];
  if (workerId.length > MAX_ID_LENGTH || !VALID_ID.test(workerId)) {
    issues.push({ path: ['workerId'], message: 'must be 1-256 of letters, digits, - _ = / and inner dots (a NATS KV key)' });
  }
  if (!Number.isFinite(heartbeatIntervalMs) || heartbeatIntervalMs <= 0) {
    issues.push({ path: ['heartbeatIntervalMs'], message: 'must be a positive number' });
  }
  if (!Number.isFinite(ttlMs) || ttlMs <= heartbeatIntervalMs) {
    issues.push({ path: ['ttlMs'], message: 'must be greater than heartbeatIntervalMs (several heartbeats per TTL)' });
  }
  if (issues.length > 0) throw new ValidationError('invalid membership options', issues);
}

/** When a key's revision was first seen, by this reader's monotonic clock. */
interface Sighting {
  readonly revision: number;
  readonly at: number;
}

class KvMembership implements Membership {
  readonly workerId: string;
  readonly #kv: KV;
  readonly #intervalMs: number;
  readonly #ttlMs: number;
  readonly #startedAt = new Date().toISOString();
  readonly #info: Readonly<Record<string, unknown>>;
  readonly #log: Logger;
  readonly #listeners = new Set<MembershipListener>();
  readonly #sightings = new Map<string, Sighting>();
  #records: readonly MemberRecord[] = [];
  #members: readonly string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;
  #failing = false;

  constructor(kv: KV, workerId: string, intervalMs: number, ttlMs: number, info: Readonly<Record<string, unknown>>, log: Logger) {
    this.#kv = kv;
    this.workerId = workerId;
    this.#intervalMs = intervalMs;
    this.#ttlMs = ttlMs;
    this.#info = info;
    this.#log = log;
  }

  members(): readonly string[] {
    return this.#members;
  }

  records(): readonly MemberRecord[] {
    return this.#records;
  }

  onChange(listener: MembershipListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** First heartbeat and poll; errors propagate. Then the loop, which only logs. */
  async start(): Promise<void> {
    await this.#heartbeat();
    await this.#poll();
    this.#schedule(this.#intervalMs);
    this.#schedulePoll(this.#intervalMs);
  }

  async leave(): Promise<void> {
    const wasRunning = !this.#stopped;
    await this.stop();
    if (!wasRunning) return;
    try {
      await this.#kv.delete(this.workerId);
      this.#log.info('left the cluster');
    } catch (err) {
      // Not fatal: the key still expires after ttlMs, which is the crash path.
      this.#log.warn({ err }, 'could not delete the membership key; peers drop this member when its TTL expires');
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    await this.#tick; // a heartbeat in flight must land before leave() deletes the key
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.#runTick();
    }, delayMs);
    this.#timer.unref(); // the NATS connection, not the membership, decides whether the process lives
  }

  /**
   * Polls run on their own timer: a slow listing on a loaded machine must never delay the next
   * heartbeat, or this member's own key expires and its partitions move away while it is alive.
   */
  #schedulePoll(delayMs: number): void {
    if (this.#stopped) return;
    this.#pollTimer = setTimeout(() => {
      const started = performance.now();
      this.#polling = this.#poll().catch((err: unknown) => this.#log.debug({ err }, 'membership poll failed; retrying'));
      void this.#polling.then(() => this.#schedulePoll(Math.max(0, this.#intervalMs - (performance.now() - started))));
    }, delayMs);
    this.#pollTimer.unref();
  }

  async #runTick(): Promise<void> {
    const started = performance.now();
    try {
      await this.#heartbeat();
      if (this.#failing) this.#log.info('membership heartbeats recovered');
      this.#failing = false;
    } catch (err) {
      // NATS down or reconnecting: keep the last view and keep trying; log once per outage.
      if (!this.#failing) this.#log.warn({ err }, 'membership heartbeat or poll failed; retrying every interval');
      else this.#log.debug({ err }, 'membership heartbeat or poll still failing');
      this.#failing = true;
    }
    this.#schedule(Math.max(0, this.#intervalMs - (performance.now() - started)));
  }

  async #heartbeat(): Promise<void> {
    if (this.#stopped) return;
    const record: MemberRecord = {
      workerId: this.workerId,
      startedAt: this.#startedAt,
      heartbeatAt: new Date().toISOString(),
      info: this.#info,
    };
    await this.#kv.put(this.workerId, JSON.stringify(record), { timeout: this.#requestTimeoutMs() });
  }

  async #poll(): Promise<void> {
    const keys = await this.#keys();
    const entries = await Promise.all(keys.map((key) => this.#kv.get(key)));
    if (this.#stopped) return;
    const now = performance.now();
    const live: MemberRecord[] = [];
    const seen = new Set<string>();
    for (const entry of entries) {
      if (entry === null || entry.operation !== 'PUT') continue; // expired or deleted between keys() and get()
      seen.add(entry.key);
      const record = this.#parse(entry);
      if (record !== undefined && this.#fresh(entry, now)) live.push(record);
    }
    for (const key of this.#sightings.keys()) if (!seen.has(key)) this.#sightings.delete(key);
    live.sort((a, b) => (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0));
    this.#records = live;
    this.#update(live.map((r) => r.workerId));
  }

  /**
   * Staleness by this reader's own monotonic clock: a key whose revision has not changed for longer
   * than ttlMs is gone, even if the bucket still holds it (a bucket created with a longer TTL).
   * Comparing the writer's `heartbeatAt` with our wall clock instead would drop live members whenever
   * clocks are skewed by more than ttl − interval.
   */
  #fresh(entry: KvEntry, now: number): boolean {
    const sighting = this.#sightings.get(entry.key);
    if (sighting === undefined || sighting.revision !== entry.revision) {
      this.#sightings.set(entry.key, { revision: entry.revision, at: now });
      return true;
    }
    return now - sighting.at <= this.#ttlMs;
  }

  #parse(entry: KvEntry): MemberRecord | undefined {
    try {
      return parseMemberRecord(entry.key, entry.json<unknown>());
    } catch {
      return undefined;
    }
  }

  async #keys(): Promise<string[]> {
    const iter = await this.#kv.keys();
    const deadline = setTimeout(() => iter.stop(new Error('listing membership keys timed out')), this.#requestTimeoutMs());
    try {
      // A Set: the listing's ordered consumer replays from the start after a reset, repeating keys.
      const keys = new Set<string>();
      for await (const key of iter) keys.add(key);
      return [...keys];
    } finally {
      clearTimeout(deadline);
    }
  }

  #update(members: readonly string[]): void {
    const previous = this.#members;
    if (members.length === previous.length && members.every((m, i) => m === previous[i])) return;
    this.#members = members;
    this.#log.info(
      { members, joined: members.filter((m) => !previous.includes(m)), left: previous.filter((m) => !members.includes(m)) },
      'membership changed',
    );
    for (const listener of this.#listeners) {
      try {
        listener(members);
      } catch (err) {
        this.#log.error({ err }, 'membership listener threw');
      }
    }
  }

  /** A request that takes longer than a TTL is useless: by then the key has expired anyway. */
  #requestTimeoutMs(): number {
    return Math.max(this.#ttlMs, 1_000);
  }
}
