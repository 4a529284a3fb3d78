import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A database created for one test file, dropped by `drop()`. */
export interface TestDatabase {
  /** Connection string of the new database. */
  readonly url: string;
  /** Drop the database (terminating its connections). */
  drop(): Promise<void>;
}

/** The server every test file shares: DATABASE_URL, set by the environment or the global setup. */
export function serverDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    throw new Error('DATABASE_URL is not set: run tests through vitest (its global setup starts or finds Postgres) or set it');
  }
  return url;
}

/**
 * Create a fresh database on the shared server so test files never see each other's data.
 * @example
 * const db = await createTestDatabase();
 * afterAll(() => db.drop());
 */
export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const base = new URL(serverDatabaseUrl());
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
