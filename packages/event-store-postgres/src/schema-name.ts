import { ValidationError } from '@ratchet/core';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Check that a schema name is a plain lower-case SQL identifier and return it double-quoted. */
export function quoteSchemaName(schema: string): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw new ValidationError(`invalid schema name ${JSON.stringify(schema)}`, [
      { path: ['schema'], message: 'must match /^[a-z_][a-z0-9_]{0,62}$/' },
    ]);
  }
  return `"${schema}"`;
}
