/** A throwaway database for one benchmark run, created on the server at DATABASE_URL and dropped after. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server to create scratch databases on: DATABASE_URL, else the local default. */
export function benchServerUrl(): string {
  const url = process.env.DATABASE_URL;
  return url === undefined || url === '' ? 'postgres://postgres@127.0.0.1:5432/postgres' : url;
}

/** A scratch database; `drop()` it in `finally`. */
export interface ScratchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** Create `bench_<prefix>_<random>` on the server. */
export async function createScratchDatabase(prefix: string, serverUrl = benchServerUrl()): Promise<ScratchDatabase> {
  const name = `bench_${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
