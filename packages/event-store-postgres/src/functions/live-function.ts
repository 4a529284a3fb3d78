/**
 * A function of the store's schema as it is live after the last migration, readable in one place.
 * The migration that last changed it holds a frozen copy of this text; schema.int.test.ts checks
 * that migrating leaves exactly this definition, so neither can change without the other.
 */
export interface LiveFunction {
  /** Name and argument types as `regprocedure` spells them, e.g. `append_batch(jsonb)`. */
  readonly signature: string;
  /** `CREATE OR REPLACE FUNCTION ...` for the quoted schema name. */
  readonly sql: (schema: string) => string;
}
