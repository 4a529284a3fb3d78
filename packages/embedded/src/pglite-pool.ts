import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { PGlite, type Results } from '@electric-sql/pglite';
import pg from 'pg';

// node-postgres's own parameter encoding (Date, Buffer, arrays, objects as JSON, strings as-is), so
// a value means the same thing here as it does to a real server through `pg`.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue(value: unknown): unknown };

// PGlite merges these into its defaults by key, so they must be plain objects with every built-in
// type id (user types start at 16384): results parse exactly as node-postgres parses them (int8 and
// numeric as strings, timestamptz as Date, json/jsonb as values, arrays of those), and parameters,
// already encoded by `prepareValue`, pass through untouched.
const BUILTIN_TYPE_IDS = 16_384;
const parsers: Record<number, (text: string) => unknown> = {};
const serializers: Record<number, (value: unknown) => string> = {};
for (let oid = 1; oid < BUILTIN_TYPE_IDS; oid += 1) {
  const parse = pg.types.getTypeParser(oid, 'text') as (text: string) => unknown;
  parsers[oid] = (text) => parse(text);
  serializers[oid] = (value) => value as string;
}

/** Thrown for a query on a pool after `end()`, or on a client after `release()`. */
export class PgliteClosedError extends Error {
  override readonly name = 'PgliteClosedError';
}

/** The connection the pool hands out (node-postgres's `PoolClient`, the part Ratchet uses). */
interface PgliteClient {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
  release(err?: Error | boolean): void;
}

/**
 * A one-connection `pg.Pool` over PGlite (PostgreSQL in WASM, in this process). PGlite has a
 * single session, so the pool is a mutex: `query` waits its turn, and a client from `connect()` has
 * the session to itself until `release()` (its transaction cannot interleave with anyone's query).
 * A caller that holds a client and then calls `pool.query` waits for itself: Ratchet's event store,
 * worker and projector (feed mode) never do.
 */
class PglitePool extends EventEmitter {
  readonly #db: PGlite;
  #tail: Promise<void> = Promise.resolve();
  #ended = false;

  constructor(db: PGlite) {
    super();
    this.#db = db;
  }

  /** Number of sessions (always 1), for code that reads pool sizes. */
  get totalCount(): number {
    return 1;
  }

  async query(text: string | { text: string; values?: unknown[] }, values?: unknown[]): Promise<pg.QueryResult> {
    const unlock = await this.#lock();
    try {
      return await this.#run(text, values);
    } finally {
      unlock();
    }
  }

  async connect(): Promise<PgliteClient> {
    const unlock = await this.#lock();
    let released = false;
    return {
      query: (text: string, values?: unknown[]) => {
        if (released) return Promise.reject(new PgliteClosedError('client used after release()'));
        return this.#run(text, values);
      },
      release: () => {
        if (released) return;
        released = true;
        // A client handed back inside a transaction must not leave it open for the next user.
        if (!this.#db.closed && this.#db.isInTransaction()) {
          this.#db.exec('ROLLBACK').then(unlock, unlock);
        } else {
          unlock();
        }
      },
    };
  }

  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    const unlock = await this.#acquire();
    try {
      await this.#db.close();
    } finally {
      unlock();
    }
  }

  async #lock(): Promise<() => void> {
    if (this.#ended) throw new PgliteClosedError('Cannot use a pool after calling end on the pool');
    return this.#acquire();
  }

  #acquire(): Promise<() => void> {
    let unlock!: () => void;
    const mine = new Promise<void>((resolve) => {
      unlock = resolve;
    });
    const before = this.#tail;
    this.#tail = before.then(() => mine);
    return before.then(() => unlock);
  }

  async #run(input: string | { text: string; values?: unknown[] }, values?: unknown[]): Promise<pg.QueryResult> {
    const text = typeof input === 'string' ? input : input.text;
    const params = (typeof input === 'string' ? values : input.values) ?? [];
    if (params.length === 0) {
      // The simple protocol: several statements in one string (migrations, projection setup), like pg.
      const results = await this.#db.exec(text);
      return toQueryResult(results[results.length - 1]);
    }
    const result = await this.#db.query<pg.QueryResultRow>(
      text,
      params.map((v) => prepareValue(v)),
    );
    return toQueryResult(result);
  }
}

function toQueryResult(result: Results | undefined): pg.QueryResult {
  const rows = (result?.rows ?? []) as pg.QueryResultRow[];
  return {
    command: result?.command ?? '',
    rowCount: result?.rowCount ?? result?.affectedRows ?? rows.length,
    oid: 0,
    rows,
    fields: (result?.fields ?? []).map((f) => ({
      name: f.name,
      dataTypeID: f.dataTypeID,
      tableID: 0,
      columnID: 0,
      dataTypeSize: -1,
      dataTypeModifier: -1,
      format: 'text',
    })),
  };
}

/**
 * Start PGlite (in memory, or persisted in `dataDir`) and wrap it as the `pg.Pool` that Ratchet's
 * event store, projector and read models use: `query`, `connect`/`release`, `on('error')`, `end`.
 * Cold start takes seconds (the WASM build of PostgreSQL initialises).
 * @example
 * const pool = await createPglitePool('.data/pglite');
 * const store = createPostgresEventStore({ pool });
 * await store.migrate();
 */
export async function createPglitePool(dataDir?: string): Promise<pg.Pool> {
  const db = await PGlite.create(dataDir, { parsers, serializers });
  return new PglitePool(db) as unknown as pg.Pool;
}
