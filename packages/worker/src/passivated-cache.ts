import type { PersistedState } from '@ratchet/core';

/** Options of a {@link PassivatedCache}. */
export interface PassivatedCacheOptions {
  /** Most entries kept; the least recently passivated ones are evicted past it. 0 disables the tier. Default 1,000,000. */
  readonly maxEntries?: number;
}

/** What a passivated actor is brought back from: its state at `version`, made current by reading the tail after it. */
export interface PassivatedEntry {
  /** Stream version the state is at. */
  readonly version: number;
  /** Version of the newest snapshot the actor knew to be stored (keeps the snapshot cadence). */
  readonly snapshotVersion: number;
  /** The aggregate's persisted state, as a snapshot would hold it (a JSON round trip, like jsonb). */
  readonly state: PersistedState;
}

/**
 * The passivated tier of a worker: actors the live {@link ActorCache} let go, kept in their compact
 * persisted form, so that reactivation restores from memory and reads only the events after
 * `version` instead of loading a snapshot first. An LRU bounded by `maxEntries`.
 *
 * Each entry is one JSON string, `[generation,partition,version,snapshotVersion,<state>]`: per entry
 * just the key and that string (flat, as `JSON.stringify` makes it), no objects, which keeps a million
 * entries small and cheap for the garbage collector to walk. The state goes through JSON as a stored
 * snapshot goes through jsonb, so what comes back is what a snapshot load would give. An entry is
 * taken (removed) when used: it serves one reactivation, and the actor is passivated anew later.
 *
 * Entries of a partition are invalidated in O(1) by `dropPartition` (a per-partition generation):
 * they are never returned again, count no more in `size`, and are freed by eviction or by `purge`,
 * which can be run in slices.
 */
export class PassivatedCache {
  readonly #entries = new Map<string, string>();
  readonly #max: number;
  /** Current generation per partition; an entry of an older generation is stale. */
  readonly #generation: number[] = [];
  /** Entries of the current generation per partition. */
  readonly #count: number[] = [];
  /** Entries in the map that are stale (dropped, not yet purged or evicted). */
  #stale = 0;
  #evictions = 0;
  /** Where an unfinished `purge` pass stopped, and what it freed and saw dropped since it began. */
  #purgeCursor: IterableIterator<[string, string]> | undefined;
  #passFreed = 0;
  #passDrops = 0;

  constructor(options: PassivatedCacheOptions = {}) {
    const max = options.maxEntries ?? 1_000_000;
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`maxEntries must be a non-negative integer, got ${max}`);
    this.#max = max;
  }

  /** Whether entries are kept at all (`maxEntries` > 0). */
  get enabled(): boolean {
    return this.#max > 0;
  }

  /** Usable entries (stale ones not yet purged are not counted). */
  get size(): number {
    return this.#entries.size - this.#stale;
  }

  /** Entries evicted to stay within `maxEntries` so far. */
  get evictions(): number {
    return this.#evictions;
  }

  /**
   * Keep a passivated actor's state, replacing any entry of the same stream, evicting the least
   * recently passivated entries past the limit. Throws if the state cannot be serialised as JSON.
   */
  put(streamId: string, partition: number, entry: PassivatedEntry): void {
    if (this.#max === 0) return;
    checkCount(partition, 'partition');
    checkCount(entry.version, 'version');
    checkCount(entry.snapshotVersion, 'snapshotVersion');
    if (typeof entry.state !== 'object' || entry.state === null) throw new TypeError(`state of ${streamId} is not an object`);
    const generation = this.#generation[partition] ?? 0;
    // One call, so one flat string (a template literal would build a tree of string pieces).
    const packed = JSON.stringify([generation, partition, entry.version, entry.snapshotVersion, entry.state]);
    this.#forget(streamId);
    this.#entries.set(streamId, packed);
    this.#count[partition] = (this.#count[partition] ?? 0) + 1;
    if (this.#entries.size > this.#max) {
      for (const oldest of this.#entries.keys()) {
        this.#forget(oldest);
        this.#evictions += 1;
        if (this.#entries.size <= this.#max) break;
      }
    }
  }

  /** Remove and return the stream's entry, if it has a usable one. */
  take(streamId: string): PassivatedEntry | undefined {
    const packed = this.#entries.get(streamId);
    if (packed === undefined) return undefined;
    this.#entries.delete(streamId);
    const header = decodeHeader(packed);
    if (this.#isStale(header)) {
      this.#stale -= 1;
      return undefined;
    }
    this.#count[header.partition] = (this.#count[header.partition] ?? 1) - 1;
    return {
      version: header.version,
      snapshotVersion: header.snapshotVersion,
      state: (JSON.parse(packed) as [number, number, number, number, PersistedState])[4],
    };
  }

  /** Invalidate every entry of a partition (e.g. one this worker lost), in O(1); returns how many. */
  dropPartition(partition: number): number {
    checkCount(partition, 'partition');
    const n = this.#count[partition] ?? 0;
    this.#generation[partition] = (this.#generation[partition] ?? 0) + 1;
    this.#count[partition] = 0;
    this.#stale += n;
    this.#passDrops += 1;
    return n;
  }

  /**
   * Free the entries `dropPartition` invalidated, looking at no more than `maxVisits` entries; the
   * next call goes on from there. Returns true once no invalidated entry is left.
   */
  purge(maxVisits = Number.POSITIVE_INFINITY): boolean {
    let visits = 0;
    while (this.#stale > 0) {
      if (this.#purgeCursor === undefined) {
        this.#purgeCursor = this.#entries.entries();
        this.#passFreed = 0;
        this.#passDrops = 0;
      }
      // A Map iterator has no return(): leaving this loop early keeps it where it is, for the next call.
      for (const [streamId, packed] of this.#purgeCursor) {
        if (this.#isStalePacked(packed)) {
          this.#entries.delete(streamId);
          this.#stale -= 1;
          this.#passFreed += 1;
          if (this.#stale === 0) break;
        }
        visits += 1;
        if (visits >= maxVisits) return this.#stale === 0;
      }
      if (this.#stale === 0) break;
      // A pass is over; entries invalidated behind it are found by the next one. A whole pass that
      // freed nothing with no drop meanwhile proves none is left (so a miscount cannot loop forever).
      if (this.#passFreed === 0 && this.#passDrops === 0) this.#stale = 0;
      this.#purgeCursor = undefined;
    }
    this.#purgeCursor = undefined;
    return true;
  }

  /** Remove a stream's entry, if any, keeping the counts right. */
  #forget(streamId: string): void {
    const packed = this.#entries.get(streamId);
    if (packed === undefined) return;
    this.#entries.delete(streamId);
    const header = decodeHeader(packed);
    if (this.#isStale(header)) this.#stale -= 1;
    else this.#count[header.partition] = (this.#count[header.partition] ?? 1) - 1;
  }

  #isStale(header: Header): boolean {
    return header.generation !== (this.#generation[header.partition] ?? 0);
  }

  /** `#isStale` reading only the first two numbers, allocating nothing (a purge looks at every entry). */
  #isStalePacked(packed: string): boolean {
    let i = 1;
    let generation = 0;
    let partition = 0;
    for (let c = packed.charCodeAt(i); c !== COMMA; c = packed.charCodeAt(++i)) generation = generation * 10 + (c - ZERO);
    for (let c = packed.charCodeAt(++i); c !== COMMA; c = packed.charCodeAt(++i)) partition = partition * 10 + (c - ZERO);
    return generation !== (this.#generation[partition] ?? 0);
  }
}

interface Header {
  readonly generation: number;
  readonly partition: number;
  readonly version: number;
  readonly snapshotVersion: number;
}

const COMMA = 44;
const ZERO = 48;

/** Read the four numbers that open a packed entry (`[g,p,v,s,` as `put` wrote them: digits only) without parsing the state. */
function decodeHeader(packed: string): Header {
  let i = 1;
  let generation = 0;
  for (let c = packed.charCodeAt(i); c !== COMMA; c = packed.charCodeAt(++i)) generation = generation * 10 + (c - ZERO);
  let partition = 0;
  for (let c = packed.charCodeAt(++i); c !== COMMA; c = packed.charCodeAt(++i)) partition = partition * 10 + (c - ZERO);
  let version = 0;
  for (let c = packed.charCodeAt(++i); c !== COMMA; c = packed.charCodeAt(++i)) version = version * 10 + (c - ZERO);
  let snapshotVersion = 0;
  for (let c = packed.charCodeAt(++i); c !== COMMA; c = packed.charCodeAt(++i)) snapshotVersion = snapshotVersion * 10 + (c - ZERO);
  return { generation, partition, version, snapshotVersion };
}

function checkCount(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
}
