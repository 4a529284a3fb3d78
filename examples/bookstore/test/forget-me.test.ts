// "Forget me" on the bookstore (issue 16), on real services (worker, projector and gateway
// processes with a master key) and the page in this process: an author's address is sealed in the
// event store and in JetStream from the start; after "forget me" the author's page shows the
// placeholder, the address is free again, and rebuilding the authors projection leaves no trace of
// the address in any table of the database, nor in any JetStream message; no process logged a key.
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { FORGOTTEN } from '@ratchet/core';
import { createPostgresEventStore, parseMasterKey } from '@ratchet/event-store-postgres';
import { createProjector, defineProjection } from '@ratchet/projector';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorsProjection,
  BookstoreReadModels,
  createGatewaySender,
  emailKey,
  startBookstoreWeb,
  type RunningBookstoreWeb,
} from '../src/index.js';
import { startBookstoreStack, type BookstoreStack } from './bookstore-stack.js';

const MASTER_KEY = randomBytes(32).toString('base64');
const ADDRESS = `forget.me.${randomBytes(4).toString('hex')}@sequent.io`;
const LOCAL_PART = ADDRESS.split('@')[0]!;

let stack: BookstoreStack | undefined;
let web: RunningBookstoreWeb | undefined;
let pool: pg.Pool;
let nc: NatsConnection;

beforeAll(async () => {
  stack = await startBookstoreStack('forget_me', { RATCHET_MASTER_KEY: MASTER_KEY });
  pool = new pg.Pool({ connectionString: stack.db.url, max: 4 });
  pool.on('error', () => undefined);
  nc = await connect({ servers: stack.nats.url });
  web = await startBookstoreWeb({
    port: 0,
    sender: createGatewaySender({ url: stack.gatewayUrl, timeoutMs: 30_000 }),
    readModels: new BookstoreReadModels(pool),
    // As web.ts: the store's cipher on the page's database (forgetting needs no master key).
    forgetter: createPostgresEventStore({ pool }).cipher,
  });
}, 180_000);

afterAll(async () => {
  await web?.close();
  await nc?.close();
  await pool?.end();
  await stack?.stop();
}, 60_000);

async function post(path: string, fields: Record<string, string>): Promise<{ status: number; location: string | null }> {
  const res = await fetch(new URL(path, web!.url), { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
  await res.text();
  return { status: res.status, location: res.headers.get('location') };
}

async function page(path: string): Promise<string> {
  const res = await fetch(new URL(path, web!.url));
  expect(res.status).toBe(200);
  return res.text();
}

/** Every row of every table (and view) of the database outside the system schemas that mentions `text`. */
async function rowsMentioning(text: string): Promise<string[]> {
  const tables = await pool.query<{ name: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
     WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const found: string[] = [];
  for (const { name } of tables.rows) {
    const hits = await pool.query<{ row: string }>(`SELECT t::text AS row FROM ${name} AS t WHERE t::text ILIKE $1`, [`%${text}%`]);
    for (const hit of hits.rows) found.push(`${name}: ${hit.row}`);
  }
  return found;
}

/** Every message of the events stream as text: subject, headers and body. */
async function jetStreamMessages(): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info('RATCHET_EVENTS');
  const out: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq += 1) {
    const m = await jsm.streams.getMessage('RATCHET_EVENTS', { seq }).catch(() => null);
    if (m !== null)
      out.push(
        `${m.subject} ${JSON.stringify(m.header === undefined ? [] : [...m.header.keys()].map((k) => [k, m.header!.get(k)]))} ${m.string()}`,
      );
  }
  return out;
}

describe('forget me', () => {
  let authorId: string;

  it('keeps the address sealed in the event store and in JetStream, and in clear only in the read model', async () => {
    const form = await page('/');
    authorId = /name="authorId" value="([0-9a-f-]{36})"/.exec(form)![1]!;
    expect(await post('/authors', { authorId, name: 'Forgetful', email: ADDRESS })).toMatchObject({ status: 303 });
    expect(await page(`/authors/${authorId}`)).toContain(`<span id="author-email">${ADDRESS}</span>`);
    const stored = await pool.query<{ data: unknown }>(`SELECT data FROM ratchet.events WHERE stream_id = $1`, [`author/${authorId}`]);
    expect(stored.rows[0]!.data).toMatchObject({ name: 'Forgetful', email: { $sealed: { v: 1, subject: authorId } } });
    // The read model (its table and its view) is the one place the address is in clear.
    expect((await rowsMentioning(LOCAL_PART)).map((hit) => hit.slice(0, hit.indexOf(':'))).sort()).toEqual([
      'public.bookstore_authors',
      'ratchet_projections.proj_bookstore_authors_v1',
    ]);
    await expect
      .poll(async () => (await jetStreamMessages()).some((m) => m.includes(`author.${authorId}`)), { timeout: 10_000 })
      .toBe(true);
    expect((await jetStreamMessages()).filter((m) => m.includes(LOCAL_PART))).toEqual([]);
  });

  it("shows the placeholder on the author's page and frees the address", async () => {
    expect(await page(`/authors/${authorId}`)).toContain('<form id="forget-me"');
    expect(await post(`/authors/${authorId}/forget`, {})).toEqual({ status: 303, location: `/authors/${authorId}?forgotten=1` });
    const after = await page(`/authors/${authorId}?forgotten=1`);
    expect(after).toContain(`<span id="author-email">${FORGOTTEN}</span>`);
    expect(after).toContain('id="forgotten"');
    expect(after).not.toContain(LOCAL_PART);
    const claim = await pool.query<{ type: string }>(`SELECT type FROM ratchet.events WHERE stream_id = $1 ORDER BY version`, [
      `email/${emailKey(ADDRESS)}`,
    ]);
    expect(claim.rows.map((r) => r.type)).toEqual(['emailClaimed', 'emailReleased']);
    const key = await pool.query(`SELECT key, forgotten_at FROM ratchet.subject_keys WHERE subject = $1`, [authorId]);
    expect(key.rows).toEqual([{ key: null, forgotten_at: expect.any(Date) }]);
    // Forgetting again changes nothing and still answers with the author's page.
    expect(await post(`/authors/${authorId}/forget`, {})).toMatchObject({ status: 303 });
  });

  it('leaves no trace of the address in the database or in JetStream once the authors projection is rebuilt', async () => {
    const store = createPostgresEventStore({ pool, masterKey: parseMasterKey(MASTER_KEY) });
    const rebuilt = defineProjection({ ...authorsProjection, version: 2 });
    const projector = createProjector({ source: 'feed', store, pool, projections: [rebuilt] });
    try {
      await projector.start();
      await projector.whenFollowing('authors', 2);
      await expect.poll(() => projector.activeVersion('authors'), { timeout: 10_000 }).toBe(2);
    } finally {
      await projector.stop();
    }
    const row = await pool.query<{ email: string }>(`SELECT email FROM bookstore_authors WHERE id = $1`, [authorId]);
    expect(row.rows).toEqual([{ email: FORGOTTEN }]);
    expect(await rowsMentioning(LOCAL_PART)).toEqual([]);
    expect(await rowsMentioning(ADDRESS)).toEqual([]);
    expect((await jetStreamMessages()).filter((m) => m.includes(LOCAL_PART))).toEqual([]);
  });

  it('logged no key and no address in any service', () => {
    for (const service of [stack!.worker, stack!.projector, stack!.gateway]) {
      const text = JSON.stringify(service.logs);
      expect(text).not.toContain(MASTER_KEY);
      expect(text).not.toContain(LOCAL_PART);
    }
  });
});
