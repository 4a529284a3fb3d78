// Migrate the event store as its owner, then apply deploy/postgres/grants.sql so the worker and
// projector roles get their privileges on the tables that exist now. Run as ratchet_migrator:
//   DATABASE_URL=postgres://ratchet_migrator:…@db/ratchet node --conditions=source --import tsx deploy/scripts/migrate.ts
import { readFileSync } from 'node:fs';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import pg from 'pg';

const url = process.env.DATABASE_URL;
if (url === undefined || url === '') {
  process.stderr.write('migrate: DATABASE_URL is required (the ratchet_migrator role)\n');
  process.exit(2);
}
const pool = new pg.Pool({ connectionString: url, max: 2 });
try {
  const report = await createPostgresEventStore({ pool }).migrate();
  await pool.query(readFileSync(new URL('../postgres/grants.sql', import.meta.url), 'utf8'));
  process.stdout.write(`${JSON.stringify({ msg: 'migrated', ...report })}\n`);
} finally {
  await pool.end();
}
