// One-shot database setup for deploy/compose: roles (roles.sql) and passwords as the superuser
// (ADMIN_URL), then the migrations and grants as ratchet_migrator (migrate.ts). Idempotent.
import { readFileSync } from 'node:fs';
import pg from 'pg';

const admin = new pg.Client({ connectionString: process.env.ADMIN_URL });
await admin.connect();
try {
  await admin.query(readFileSync(new URL('../postgres/roles.sql', import.meta.url), 'utf8'));
  for (const [role, variable] of [
    ['ratchet_migrator', 'PG_MIGRATOR_PASSWORD'],
    ['ratchet_worker', 'PG_WORKER_PASSWORD'],
    ['ratchet_projector', 'PG_PROJECTOR_PASSWORD'],
  ] as const) {
    const password = process.env[variable];
    if (password === undefined || password === '') throw new Error(`${variable} is required`);
    await admin.query(`ALTER ROLE ${role} PASSWORD ${admin.escapeLiteral(password)}`);
  }
} finally {
  await admin.end();
}
await import('./migrate.js');
