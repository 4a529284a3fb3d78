/**
 * One versioned schema change. Once shipped its text never changes: a change to the schema is a new
 * migration (see the package README, "Adding a migration").
 */
export interface Migration {
  /** Position in the history, from 1 with no gaps; recorded in `schema_migrations`. */
  readonly version: number;
  /** What it does, recorded in `schema_migrations`. */
  readonly name: string;
  /** The SQL for the quoted schema name, the only value it interpolates. */
  readonly sql: (schema: string) => string;
}
