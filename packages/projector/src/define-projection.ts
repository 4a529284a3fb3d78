import type { RecordedEvent } from '@ratchet/core';
import { DefinitionError } from '@ratchet/core';
import type pg from 'pg';

/** The connection a projection's SQL runs on: a client inside the read-model transaction. */
export type ProjectionSql = Pick<pg.ClientBase, 'query'>;

/** Where a projection version's tables live; names are versioned so two versions can live side by side. */
export interface ProjectionTables {
  /** The schema holding the versioned tables. */
  readonly schema: string;
  /** The quoted, schema-qualified physical name of a declared table, e.g. `"ratchet_projections"."proj_turnstiles_v2"`. */
  name(table: string): string;
  /** The bare physical name of a declared table, e.g. `proj_turnstiles_v2`. */
  physical(table: string): string;
}

/** Applies one event to the read model, inside the read-model transaction. */
export type ProjectionHandler = (event: RecordedEvent, sql: ProjectionSql, tables: ProjectionTables) => Promise<void>;

/** What {@link defineProjection} takes. */
export interface ProjectionConfig {
  /** Lower-case identifier, `^[a-z][a-z0-9_]{0,39}$`. */
  readonly name: string;
  /** A positive integer; a new version is built beside the live one and then switched to. */
  readonly version: number;
  /** Table base names this version owns; each gets a physical table `proj_<table>_v<version>` and a stable view `<table>`. */
  readonly tables: readonly string[];
  /** Aggregate types whose events this projection reads. Default: every type. */
  readonly aggregateTypes?: readonly string[];
  /** Create the version's tables. Runs at every start, so it must be idempotent (`CREATE TABLE IF NOT EXISTS`). */
  readonly setup: (sql: ProjectionSql, tables: ProjectionTables) => Promise<void>;
  /** One handler per event type; events of other types only advance the stream's position. */
  readonly handlers: Readonly<Record<string, ProjectionHandler>>;
  /**
   * Optional: apply a whole batch in a few statements (events ordered by stream, then version;
   * already deduplicated). Must have exactly the effect of running `handlers` one event at a time.
   * If it throws, the batch is redone event by event with `handlers` (retries, parking).
   */
  readonly applyBatch?: (events: readonly RecordedEvent[], sql: ProjectionSql, tables: ProjectionTables) => Promise<void>;
}

/** A validated projection version. */
export interface Projection extends ProjectionConfig {
  /** `<name>@v<version>`, used in logs and metrics labels. */
  readonly key: string;
  /** The durable JetStream consumer of this version. */
  readonly consumerName: string;
  /** Table names bound to this version. */
  readonly tableNames: ProjectionTables;
}

const IDENT = /^[a-z][a-z0-9_]{0,39}$/;

/** The schema holding the registry, positions, parked events and the versioned tables. */
export const PROJECTIONS_SCHEMA = 'ratchet_projections';

/** Bind a table-name helper to a projection version. */
export function projectionTables(tables: readonly string[], version: number, schema = PROJECTIONS_SCHEMA): ProjectionTables {
  const known = new Set(tables);
  const physical = (table: string): string => {
    if (!known.has(table)) {
      throw new DefinitionError(`table "${table}" is not declared in the projection's tables (${[...known].join(', ')})`);
    }
    return `proj_${table}_v${version}`;
  };
  return { schema, physical, name: (table) => `"${schema}"."${physical(table)}"` };
}

/**
 * Define one version of a projection: its tables and a handler per event type.
 * @example
 * const counts = defineProjection({
 *   name: 'counts', version: 1, tables: ['counts'],
 *   setup: (sql, t) => sql.query(`CREATE TABLE IF NOT EXISTS ${t.name('counts')} (stream_id text PRIMARY KEY, n int NOT NULL)`).then(() => undefined),
 *   handlers: { coinInserted: async (e, sql, t) => { await sql.query(`INSERT INTO ${t.name('counts')} VALUES ($1, 1) ON CONFLICT (stream_id) DO UPDATE SET n = ${t.name('counts')}.n + 1`, [e.streamId]); } },
 * });
 */
export function defineProjection(config: ProjectionConfig): Projection {
  if (!IDENT.test(config.name)) throw new DefinitionError(`projection name "${config.name}" must match ${IDENT}`);
  if (!Number.isSafeInteger(config.version) || config.version < 1) {
    throw new DefinitionError(`projection ${config.name}: version must be a positive integer`);
  }
  if (config.tables.length === 0) throw new DefinitionError(`projection ${config.name}: declare at least one table`);
  for (const t of config.tables) {
    if (!IDENT.test(t)) throw new DefinitionError(`projection ${config.name}: table name "${t}" must match ${IDENT}`);
  }
  return {
    ...config,
    key: `${config.name}@v${config.version}`,
    consumerName: `proj_${config.name}_v${config.version}`,
    tableNames: projectionTables(config.tables, config.version),
  };
}
