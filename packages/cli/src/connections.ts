import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsConnectOptions } from '@ratchet/transport-nats';
import { handlePoolErrors } from '@ratchet/event-store-postgres';
import pg from 'pg';
import { unreachableError, usageError } from './cli-error.js';
import type { GlobalOptions } from './cli-context.js';

/** How long the CLI waits for a server before it says it cannot be reached (ms). */
const CONNECT_TIMEOUT_MS = 5_000;

/** Connect to NATS once, without reconnect loops: a CLI run should fail fast and say which URL. */
export async function connectNats(options: GlobalOptions): Promise<NatsConnection> {
  try {
    return await connect({
      ...natsConnectOptions(options.nats),
      name: 'ratchet-cli',
      timeout: CONNECT_TIMEOUT_MS,
      reconnect: false,
    });
  } catch (error) {
    throw unreachableError(`cannot reach NATS at ${options.nats} (${options.origins.nats}): ${reasonOf(error)}${hintOf(options)}`, {
      cause: error,
    });
  }
}

/** A pool on the event store's database, checked with one query so an unreachable server fails here. */
export async function openPostgres(options: GlobalOptions, poolSize = 4): Promise<pg.Pool> {
  if (options.db === undefined || options.db === '') {
    throw usageError(`no database: pass --db <postgres-url>, set DATABASE_URL, or start the demo (npm run demo)${hintOf(options)}`);
  }
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({ connectionString: options.db, max: poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  } catch (error) {
    throw usageError(`--db is not a Postgres URL: ${reasonOf(error)}`, { cause: error });
  }
  // A server going away mid-command fails the query in hand; it must not crash the CLI with an unhandled 'error'.
  handlePoolErrors(pool);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw unreachableError(
      `cannot reach Postgres at ${redactUrl(options.db)} (${options.origins.db ?? '--db'}): ${reasonOf(error)}${hintOf(options)}`,
      { cause: error },
    );
  }
  return pool;
}

/** Fail with a usage error unless the database holds a Ratchet event store. */
export async function requireEventStore(pool: pg.Pool, options: GlobalOptions): Promise<void> {
  const res = await pool.query<{ t: string | null }>(`SELECT to_regclass('ratchet.events')::text AS t`);
  if (res.rows[0]?.t == null) {
    throw usageError(
      `the database at ${redactUrl(options.db ?? '')} has no Ratchet event store (ratchet.events): wrong --db, or no worker has migrated it yet`,
    );
  }
}

function hintOf(options: GlobalOptions): string {
  return options.hint === undefined ? '' : `; ${options.hint}`;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** One line saying why a connection failed (aggregate errors of dual-stack connects included). */
export function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reasonOf(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = error.message.split('\n')[0] ?? '';
    return message === '' && typeof code === 'string' ? code : message;
  }
  return String(error);
}
