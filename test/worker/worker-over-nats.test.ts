// The worker end to end in one process: real nats-server (private, so no other test file's
// worker answers our subjects) and a fresh Postgres database.
import type { NatsConnection } from '@nats-io/transport-node';
import type { RatchetClient } from '@ratchet/client';
import { ErrorCode } from '@ratchet/core';
import type { PostgresEventStore } from '@ratchet/event-store-postgres';
import { waitFor } from '@ratchet/launchers';
import { commandSubject, decodeReply, partitionOf } from '@ratchet/transport-nats';
import { Turnstile } from '@ratchet/turnstile';
import type { Worker } from '@ratchet/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessWorker, type InProcessWorker } from './in-process-worker.js';

let fixture: InProcessWorker;
let nc: NatsConnection;
let store: PostgresEventStore;
let worker: Worker;
let client: RatchetClient;
let sql: pg.Client;

beforeAll(async () => {
  // No passivated tier here, so passivated actors come back through the snapshot path this file
  // tests (the tier has its own test, passivated-tier.test.ts).
  fixture = await startInProcessWorker({ database: 'worker', worker: { snapshotEvery: 3, maxResidentActors: 20, maxPassivatedActors: 0 } });
  ({ nc, store, worker, client } = fixture);
  sql = new pg.Client({ connectionString: fixture.db.url });
  await sql.connect();
});

afterAll(async () => {
  await sql?.end();
  await fixture?.stop();
});

const eventCount = async (): Promise<number> =>
  Number((await sql.query<{ n: string }>('select count(*) as n from ratchet.events')).rows[0]?.n);

describe('turnstile over the wire', () => {
  it('follows the rules through the client', async () => {
    const id = 'rules-1';
    expect(await client.send(Turnstile, id, { type: 'insertCoin', payload: {} })).toMatchObject({
      status: 'rejected',
      reason: 'Turnstile not installed',
    });
    expect(await client.send(Turnstile, id, { type: 'pushArm', payload: {} })).toMatchObject({ status: 'rejected' });
    expect(await client.send(Turnstile, id, { type: 'install', payload: {} })).toMatchObject({
      status: 'ok',
      version: 1,
      events: [{ version: 1, type: 'installed' }],
    });
    expect(await client.send(Turnstile, id, { type: 'install', payload: {} })).toMatchObject({
      status: 'rejected',
      reason: 'Turnstile already installed',
      version: 1,
    });
    expect(await client.send(Turnstile, id, { type: 'pushArm', payload: {} })).toMatchObject({
      status: 'ok',
      events: [{ version: 2, type: 'armPushedIneffectively' }],
    });
    expect(await client.send(Turnstile, id, { type: 'insertCoin', payload: {} })).toMatchObject({
      events: [{ version: 3, type: 'coinInserted' }],
    });
    expect(await client.send(Turnstile, id, { type: 'insertCoin', payload: {} })).toMatchObject({
      events: [{ version: 4, type: 'coinInserted' }],
    });
    expect(await client.send(Turnstile, id, { type: 'pushArm', payload: {} })).toMatchObject({
      status: 'ok',
      version: 5,
      events: [{ version: 5, type: 'armTurned' }],
    });
    const stored = await store.readStream('turnstile/rules-1');
    expect(stored.map((e) => e.type)).toEqual(['installed', 'armPushedIneffectively', 'coinInserted', 'coinInserted', 'armTurned']);
    expect(Turnstile.replay(stored).snapshot.context).toEqual({ coins: 2, turns: 1, pushes: 2 });
  });

  it('answers a client-side expected version mismatch with VERSION_CONFLICT', async () => {
    await client.send(Turnstile, 'ev-1', { type: 'install', payload: {} });
    const r = await client.send(Turnstile, 'ev-1', { type: 'insertCoin', payload: {} }, { expectedVersion: 0 });
    expect(r.status === 'error' && r.error.code).toBe(ErrorCode.VERSION_CONFLICT);
    const ok = await client.send(Turnstile, 'ev-1', { type: 'insertCoin', payload: {} }, { expectedVersion: 1 });
    expect(ok).toMatchObject({ status: 'ok', version: 2 });
  });
});

describe('idempotency', () => {
  it('a retried command id returns the first answer and writes nothing', async () => {
    const first = await client.send(Turnstile, 'idem-1', { type: 'install', payload: {} }, { commandId: 'cmd-idem-1' });
    expect(first).toMatchObject({ status: 'ok', version: 1, duplicate: false });
    const before = await eventCount();
    const again = await client.send(Turnstile, 'idem-1', { type: 'install', payload: {} }, { commandId: 'cmd-idem-1' });
    expect(again).toMatchObject({ status: 'ok', version: 1, duplicate: true, events: [{ version: 1, type: 'installed' }] });
    // A later command, then the old id again: still the first answer (not "already installed").
    await client.send(Turnstile, 'idem-1', { type: 'insertCoin', payload: {} });
    const late = await client.send(Turnstile, 'idem-1', { type: 'install', payload: {} }, { commandId: 'cmd-idem-1' });
    expect(late).toMatchObject({ status: 'ok', version: 1, duplicate: true });
    expect(await eventCount()).toBe(before + 1);
  });

  it('a command id reused for a different command gets COMMAND_ID_REUSED and writes nothing', async () => {
    await client.send(Turnstile, 'idem-2', { type: 'install', payload: {} }, { commandId: 'cmd-idem-2' });
    const before = await eventCount();
    const r = await client.send(Turnstile, 'idem-2', { type: 'insertCoin', payload: {} }, { commandId: 'cmd-idem-2' });
    expect(r.status === 'error' && r.error.code).toBe(ErrorCode.COMMAND_ID_REUSED);
    expect(await eventCount()).toBe(before);
  });
});

/** Send raw bytes to a subject and decode the reply. */
async function raw(subject: string, body: Uint8Array | string) {
  const data = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const msg = await nc.request(subject, data, { timeout: 5_000 });
  return decodeReply(msg.data);
}

describe('bad input', () => {
  const valid = (id: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ id, command: { type: 'install', payload: {} }, commandId: `bad-${Math.random().toString(36).slice(2)}`, ...extra });
  const subjectFor = (id: string) => commandSubject('turnstile', partitionOf(id, 64));

  const cases: Array<[string, string, string | Uint8Array, string]> = [
    ['malformed JSON', subjectFor('x'), '{"id": "x", ', ErrorCode.MALFORMED_REQUEST],
    ['random bytes', subjectFor('x'), new Uint8Array([0xff, 0xfe, 0x00, 0x81]), ErrorCode.MALFORMED_REQUEST],
    ['wrong field types', subjectFor('x'), JSON.stringify({ id: 5, command: 'install', commandId: 7 }), ErrorCode.VALIDATION_FAILED],
    // No worker subscribes these command subjects (NATS answers no responders); the unrouted probe says why.
    ['unknown aggregate type (unrouted probe)', 'ratchet.cmd.unrouted.elevator.3', valid('x'), ErrorCode.UNKNOWN_AGGREGATE],
    [
      'unknown command',
      subjectFor('x'),
      JSON.stringify({ id: 'x', command: { type: 'kick', payload: {} }, commandId: 'bad-kick' }),
      ErrorCode.UNKNOWN_COMMAND,
    ],
    ['payload over the size limit', subjectFor('x'), valid('x', { metadata: { pad: 'p'.repeat(70_000) } }), ErrorCode.PAYLOAD_TOO_LARGE],
    ['empty id', subjectFor(''), valid(''), ErrorCode.INVALID_ID],
    ['id over 128 characters', subjectFor('a'.repeat(129)), valid('a'.repeat(129)), ErrorCode.INVALID_ID],
    ['id with a dot', subjectFor('a.b'), valid('a.b'), ErrorCode.INVALID_ID],
    ['id with a star', subjectFor('a*'), valid('a*'), ErrorCode.INVALID_ID],
    ['id with >', subjectFor('a>'), valid('a>'), ErrorCode.INVALID_ID],
    ['id with whitespace', subjectFor('a b'), valid('a b'), ErrorCode.INVALID_ID],
    [
      '__proto__ key',
      subjectFor('x'),
      '{"id":"x","command":{"type":"install","payload":{"__proto__":{"admin":true}}},"commandId":"bad-proto"}',
      ErrorCode.VALIDATION_FAILED,
    ],
    [
      'constructor key',
      subjectFor('x'),
      JSON.stringify({ id: 'x', command: { type: 'install', payload: { constructor: { prototype: 1 } } }, commandId: 'bad-ctor' }),
      ErrorCode.VALIDATION_FAILED,
    ],
    [
      'payload failing the command schema',
      subjectFor('x'),
      JSON.stringify({ id: 'x', command: { type: 'install', payload: { extra: 1 } }, commandId: 'bad-schema' }),
      ErrorCode.VALIDATION_FAILED,
    ],
    ['wrong partition', commandSubject('turnstile', (partitionOf('x', 64) + 1) % 64), valid('x'), ErrorCode.WRONG_PARTITION],
    ['partition that does not exist (unrouted probe)', 'ratchet.cmd.unrouted.turnstile.999', valid('x'), ErrorCode.WRONG_PARTITION],
    ['served partition asked as unrouted (between owners)', 'ratchet.cmd.unrouted.turnstile.5', valid('x'), ErrorCode.UNAVAILABLE],
  ];

  for (const [name, subject, body, code] of cases) {
    it(`${name} → ${code}, nothing written, worker still serving`, async () => {
      const before = await eventCount();
      const reply = await raw(subject, body);
      expect(reply.status).toBe('error');
      expect(reply.status === 'error' && reply.error.code).toBe(code);
      expect(await eventCount()).toBe(before);
      const next = await client.send(Turnstile, `after-bad-${code}-${before}`, { type: 'install', payload: {} });
      expect(next.status).toBe('ok');
    });
  }
});

describe('commands nobody subscribes', () => {
  it('reach no worker subscription (no duplicate delivery): NATS answers no responders', async () => {
    await expect(raw(commandSubject('elevator', 3), JSON.stringify({ id: 'x', command: { type: 'install', payload: {} }, commandId: 'no-sub' }))).rejects.toMatchObject({ message: expect.stringMatching(/no responders/i) });
  });

  it.each([
    ['an unknown aggregate type', 'elevator', 'x', ErrorCode.UNKNOWN_AGGREGATE],
    ['a known type', 'turnstile', 'unrouted-ok', 'ok'],
  ] as const)('through the client, %s gets its answer at once (no attempt timeout)', async (_name, type, id, expected) => {
    const r = await client.sendRaw(type, id, { type: 'install', payload: {} }, { timeoutMs: 5_000 });
    expect(r.status === 'error' ? r.error.code : r.status).toBe(expected);
    expect(r.attempts).toBe(1);
  });
});

describe('resident actors', () => {
  it('stay within the limit on a run touching more aggregates than the limit, and passivate', async () => {
    const before = worker.stats().passivations;
    let maxResident = 0;
    // 10 in flight at a time: the limit holds while idle actors remain to passivate (busy ones
    // never are, so a burst of more than the limit in flight may exceed it until they finish).
    for (let round = 0; round < 3; round += 1) {
      for (let chunk = 0; chunk < 60; chunk += 10) {
        await Promise.all(
          Array.from({ length: 10 }, async (_, k) => {
            await client.send(Turnstile, `lru-${chunk + k}`, { type: round === 0 ? 'install' : 'insertCoin', payload: {} });
            maxResident = Math.max(maxResident, worker.stats().residentActors);
          }),
        );
      }
    }
    expect(maxResident).toBeLessThanOrEqual(20);
    expect(worker.stats().passivations - before).toBeGreaterThanOrEqual(40);
    // Passivated actors come back from the store with the right state.
    const r = await client.send(Turnstile, 'lru-0', { type: 'pushArm', payload: {} });
    expect(r).toMatchObject({ status: 'ok', version: 4, events: [{ type: 'armTurned' }] });
  });

  it('rehydrates from the snapshot plus the tail', async () => {
    for (let i = 0; i < 7; i += 1) {
      await client.send(Turnstile, 'snap-1', { type: i === 0 ? 'install' : 'insertCoin', payload: {} });
    }
    await waitFor(async () => (await store.loadSnapshot('turnstile/snap-1', Turnstile.machineVersion)) ?? false, {
      what: 'a snapshot of snap-1',
      timeoutMs: 10_000,
    });
    // Touch more aggregates than the limit so snap-1 is passivated, then use it again.
    await Promise.all(Array.from({ length: 25 }, (_, i) => client.send(Turnstile, `evict-${i}`, { type: 'install', payload: {} })));
    const before = worker.stats().snapshotActivations;
    const r = await client.send(Turnstile, 'snap-1', { type: 'pushArm', payload: {} });
    expect(r).toMatchObject({ status: 'ok', version: 8, events: [{ type: 'armTurned' }] });
    expect(worker.stats().snapshotActivations).toBe(before + 1);
  });
});

describe('outbox', () => {
  it('publishes every committed event to JetStream once per Nats-Msg-Id', async () => {
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(nc);
    const total = await eventCount();
    const info = await waitFor(
      async () => {
        const s = await jsm.streams.info('RATCHET_EVENTS');
        return s.state.messages >= total ? s : false;
      },
      { what: `${total} events in RATCHET_EVENTS`, timeoutMs: 20_000 },
    );
    expect(info.state.messages).toBe(total);
  });
});
