// Sensitive fields through a real worker (in this process, a private nats-server, a fresh
// database): the value is sealed before the append — the raw event row, the snapshot row and every
// JetStream message hold no trace of it — decide sees it while the subject is known, and once the
// subject is forgotten (by another process, heard through LISTEN) the worker reloads and decide,
// replay and new events see the placeholder. A worker with the wrong master key answers a typed
// error and keeps serving.
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { defineAggregate, FORGOTTEN, reject, sensitive } from '@ratchet/core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectClient, type RatchetClient } from '@ratchet/client';
import { createPostgresEventStore, parseMasterKey, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { startNatsServer, waitFor, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import { createWorker, type Worker } from '@ratchet/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { z } from 'zod';

const email = sensitive(z.string(), { subject: (_data, where) => `member:${where.aggregateId}` });

/** A member with an e-mail address (personal data of the member); `check` rejects saying what decide sees. */
const Member = defineAggregate({
  type: 'member',
  machine: setup({
    types: {
      context: {} as { email: string; visits: number },
      events: {} as
        | { type: 'joined'; data: { email: string } }
        | { type: 'emailChanged'; data: { email: string } }
        | { type: 'visited'; data: Record<string, never> },
    },
  }).createMachine({
    id: 'member',
    initial: 'new',
    context: { email: '', visits: 0 },
    states: {
      new: { on: { joined: { target: 'member', actions: assign({ email: ({ event }) => event.data.email }) } } },
      member: {
        on: {
          emailChanged: { actions: assign({ email: ({ event }) => event.data.email }) },
          visited: { actions: assign({ visits: ({ context }) => context.visits + 1 }) },
        },
      },
    },
  }),
  commands: {
    join: z.object({ email: z.string() }),
    changeEmail: z.object({ email: z.string() }),
    visit: z.object({}),
    check: z.object({}),
  },
  events: { joined: z.object({ email }), emailChanged: z.object({ email }), visited: z.object({}) },
  decide: {
    join: ({ email }) => [{ type: 'joined', data: { email } }],
    changeEmail: ({ email }) => [{ type: 'emailChanged', data: { email } }],
    visit: () => [{ type: 'visited', data: {} }],
    check: (_p, state) => reject(`decide sees ${state.context.email}`),
  },
});

const masterKey = parseMasterKey(randomBytes(32).toString('base64'));
const ADDRESS = 'ann.secret@example.com';
let natsServer: NatsServerHandle;
let db: TestDatabase;
let nc: NatsConnection;
let store: PostgresEventStore;
let worker: Worker;
let client: RatchetClient;
let sql: pg.Pool;
/** Another process's store on the same database (it forgets). */
let other: PostgresEventStore;

const send = (id: string, type: 'join' | 'changeEmail' | 'visit' | 'check', payload: Record<string, unknown> = {}) =>
  client.send(Member, id, { type, payload } as never);

beforeAll(async () => {
  natsServer = await startNatsServer();
  db = await createTestDatabase('sensitive');
  nc = await connect({ servers: natsServer.url });
  store = createPostgresEventStore({ connectionString: db.url, masterKey });
  await store.migrate();
  worker = createWorker({ nats: nc, jetstream: nc, store, aggregates: [Member, Turnstile], snapshotEvery: 2 });
  await worker.start();
  client = await connectClient({ servers: natsServer.url, timeoutMs: 10_000 });
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  other = createPostgresEventStore({ connectionString: db.url, masterKey });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await worker?.drain(5_000);
  await nc?.close();
  await other?.close();
  await store?.close();
  await sql?.end();
  await db?.drop();
  await natsServer?.stop();
});

/** Every message of the events stream, as text (subject, headers and body). */
async function jetStreamMessages(): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info('RATCHET_EVENTS');
  const out: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq += 1) {
    const m = await jsm.streams.getMessage('RATCHET_EVENTS', { seq }).catch(() => null);
    if (m !== null)
      out.push(`${m.subject} ${JSON.stringify(m.header ? [...m.header.keys()].map((k) => [k, m.header!.get(k)]) : [])} ${m.string()}`);
  }
  return out;
}

describe('a sensitive field through the worker', () => {
  it('is sealed at rest: the event row, the snapshot row and the JetStream messages hold no trace of it', async () => {
    expect(await send('m-1', 'join', { email: ADDRESS })).toMatchObject({ status: 'ok', version: 1 });
    expect(await send('m-1', 'visit')).toMatchObject({ status: 'ok', version: 2 });
    expect(await send('m-1', 'visit')).toMatchObject({ status: 'ok', version: 3 });
    const rows = await sql.query<{ data: unknown }>(`SELECT data FROM ratchet.events WHERE stream_id = 'member/m-1' ORDER BY version`);
    expect(rows.rows[0]!.data).toMatchObject({
      email: { $sealed: { v: 1, subject: 'member:m-1', iv: expect.any(String), data: expect.any(String) } },
    });
    expect(JSON.stringify(rows.rows)).not.toContain('ann.secret');
    await waitFor(async () => (await sql.query(`SELECT 1 FROM ratchet.snapshots WHERE stream_id = 'member/m-1'`)).rowCount === 1, {
      what: 'a snapshot',
      timeoutMs: 10_000,
    });
    const snapshot = await sql.query<{ state: unknown }>(`SELECT state FROM ratchet.snapshots WHERE stream_id = 'member/m-1'`);
    expect(JSON.stringify(snapshot.rows[0]!.state)).toContain('$sealedState');
    expect(JSON.stringify(snapshot.rows[0]!.state)).not.toContain('ann.secret');
    await waitFor(async () => (await jetStreamMessages()).length >= 3, { what: 'the relay', timeoutMs: 10_000 });
    const messages = await jetStreamMessages();
    expect(messages.join('\n')).toContain('$sealed');
    expect(messages.join('\n')).not.toContain('ann.secret');
    // Opened with the key, the store's events are the plain ones.
    expect((await other.cipher.openEvents(await other.readStream('member/m-1')))[0]!.data).toEqual({ email: ADDRESS });
  });

  it('is what decide sees until the subject is forgotten elsewhere; then the worker reloads and decide sees the placeholder', async () => {
    expect(await send('m-1', 'check')).toMatchObject({ status: 'rejected', reason: `decide sees ${ADDRESS}` });
    await other.cipher.forget('member:m-1');
    await waitFor(async () => ((await send('m-1', 'check')) as { reason?: string }).reason === `decide sees ${FORGOTTEN}`, {
      what: 'the worker to hear the forget',
      timeoutMs: 10_000,
    });
    // A new value for the forgotten subject is not kept either: it is stored as its placeholder.
    expect(await send('m-1', 'changeEmail', { email: 'ann.new@example.com' })).toMatchObject({ status: 'ok' });
    expect(await send('m-1', 'check')).toMatchObject({ reason: `decide sees ${FORGOTTEN}` });
    const rows = await sql.query<{ data: unknown }>(`SELECT data FROM ratchet.events WHERE stream_id = 'member/m-1' ORDER BY version`);
    expect(JSON.stringify(rows.rows)).not.toContain('ann.new');
    const opened = await other.cipher.openEvents(await other.readStream('member/m-1'));
    expect(opened.map((e) => e.data)).toEqual([{ email: FORGOTTEN }, {}, {}, { email: FORGOTTEN }]);
    expect(Member.replay(opened).snapshot.context).toEqual({ email: FORGOTTEN, visits: 2 });
    // The worker folds the stream again from scratch (the sealed snapshot no longer opens) and goes on.
    expect(await send('m-1', 'visit')).toMatchObject({ status: 'ok', version: 5 });
  });

  it('is a typed error, not a crash, in a worker with another master key; that worker serves other aggregates still', async () => {
    expect(await send('m-2', 'join', { email: 'bo@example.com' })).toMatchObject({ status: 'ok' });
    const wrongStore = createPostgresEventStore({
      connectionString: db.url,
      masterKey: parseMasterKey(randomBytes(32).toString('base64')),
    });
    const wrongNc = await connect({ servers: natsServer.url });
    await worker.drain(5_000);
    const wrong = createWorker({ nats: wrongNc, store: wrongStore, aggregates: [Member, Turnstile], workerId: 'wrong-key' });
    try {
      await wrong.start();
      const reply = await send('m-2', 'check');
      expect(reply).toMatchObject({
        status: 'error',
        error: { code: 'SENSITIVE_DATA_UNREADABLE', retryable: false, details: { reason: 'wrong-master-key', subject: 'member:m-2' } },
      });
      expect(JSON.stringify(reply)).not.toContain('bo@example.com');
      expect(await client.send(Turnstile, 't-1', { type: 'install', payload: {} })).toMatchObject({ status: 'ok' });
    } finally {
      await wrong.drain(5_000);
      await wrongNc.close();
      await wrongStore.close();
    }
  });
});
