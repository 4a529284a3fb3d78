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
    [
      'a UTF-8 byte-order mark before the JSON',
      subjectFor('x'),
      new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(valid('x'))]),
      ErrorCode.MALFORMED_REQUEST,
    ],
    ['partition that does not exist (unrouted probe)', 'ratchet.cmd.unrouted.turnstile.999', valid('x'), ErrorCode.WRONG_PARTITION],
    ['partition one past the last (unrouted probe)', 'ratchet.cmd.unrouted.turnstile.64', valid('x'), ErrorCode.WRONG_PARTITION],
    ['partition with a leading zero (unrouted probe)', 'ratchet.cmd.unrouted.turnstile.037', valid('x'), ErrorCode.WRONG_PARTITION],
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

describe('what the worker answers, field by field (docs/protocol.md sections 5, 6, 8)', () => {
  const request = (id: string, command: { type: string; payload?: unknown }, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ id, command, commandId: `wire-${Math.random().toString(36).slice(2)}`, ...extra });

  it('gives payload issue paths from the request body root, like envelope issues', async () => {
    const id = 'paths-1';
    const payloadReply = await raw(
      commandSubject('turnstile', partitionOf(id, 64)),
      request(id, { type: 'install', payload: { extra: 1 } }),
    );
    expect(payloadReply.status === 'error' && payloadReply.error.code).toBe(ErrorCode.VALIDATION_FAILED);
    const payloadIssues = payloadReply.status === 'error' ? (payloadReply.error.details?.issues as Array<{ path: unknown[] }>) : [];
    expect(payloadIssues.map((i) => i.path)).toEqual([['command', 'payload']]);
    const envelopeReply = await raw(
      commandSubject('turnstile', partitionOf(id, 64)),
      request(id, { type: 'install', payload: {} }, { expectedVersion: -1 }),
    );
    const envelopeIssues = envelopeReply.status === 'error' ? (envelopeReply.error.details?.issues as Array<{ path: unknown[] }>) : [];
    expect(envelopeIssues.map((i) => i.path)).toEqual([['expectedVersion']]);
  });

  it('answers a bad commandId with VALIDATION_FAILED at ["commandId"]', async () => {
    const id = 'bad-command-id';
    const body = JSON.stringify({ id, command: { type: 'install', payload: {} }, commandId: 'has space' });
    const reply = await raw(commandSubject('turnstile', partitionOf(id, 64)), body);
    expect(reply.status === 'error' && reply.error.code).toBe(ErrorCode.VALIDATION_FAILED);
    expect(reply.status === 'error' && reply.error.details?.issues).toEqual([{ path: ['commandId'], message: expect.any(String) }]);
  });

  it('says "served", still retryable, when the probe is asked for a partition this worker serves', async () => {
    const reply = await raw('ratchet.cmd.unrouted.turnstile.5', request('x', { type: 'install', payload: {} }));
    expect(reply).toMatchObject({
      status: 'error',
      error: { code: ErrorCode.UNAVAILABLE, retryable: true, details: { partition: 5, reason: 'served' } },
    });
    expect(reply.status === 'error' && reply.error.message).toContain('ratchet.cmd.turnstile.5');
  });

  it('stores commandId, correlationId and causationId (both default to the commandId) and the given strings in the events', async () => {
    const id = 'meta-1';
    const commandId = 'meta-cmd-1';
    const body = JSON.stringify({ id, command: { type: 'install', payload: {} }, commandId });
    expect(await raw(commandSubject('turnstile', partitionOf(id, 64)), body)).toMatchObject({ status: 'ok' });
    const [installed] = await store.readStream(`turnstile/${id}`);
    expect(installed?.metadata).toEqual({ commandId, correlationId: commandId, causationId: commandId });

    const given = JSON.stringify({
      id,
      command: { type: 'insertCoin', payload: {} },
      commandId: 'meta-cmd-2',
      metadata: { correlationId: 'checkout-42', tenant: 'acme', commandId: 'spoofed' },
    });
    expect(await raw(commandSubject('turnstile', partitionOf(id, 64)), given)).toMatchObject({ status: 'ok' });
    const [, coin] = await store.readStream(`turnstile/${id}`);
    expect(coin?.metadata).toEqual({ commandId: 'meta-cmd-2', correlationId: 'checkout-42', causationId: 'meta-cmd-2', tenant: 'acme' });
  });

  it('takes traceparent only from a valid header: a body key of that name is dropped, so the relay can publish the event', async () => {
    const { headers } = await import('@nats-io/transport-node');
    const id = 'meta-trace';
    const subject = commandSubject('turnstile', partitionOf(id, 64));
    const poison = JSON.stringify({
      id,
      command: { type: 'install', payload: {} },
      commandId: 'trace-1',
      metadata: { traceparent: 'x\r\nInjected: 1' },
    });
    const bad = headers();
    bad.set('traceparent', 'not-a-traceparent');
    expect(decodeReply((await nc.request(subject, new TextEncoder().encode(poison), { timeout: 5_000, headers: bad })).data)).toMatchObject(
      { status: 'ok' },
    );
    const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const good = headers();
    good.set('traceparent', valid);
    const second = JSON.stringify({ id, command: { type: 'insertCoin', payload: {} }, commandId: 'trace-2' });
    expect(
      decodeReply((await nc.request(subject, new TextEncoder().encode(second), { timeout: 5_000, headers: good })).data),
    ).toMatchObject({ status: 'ok' });
    const [first, coin] = await store.readStream(`turnstile/${id}`);
    expect(first?.metadata).not.toHaveProperty('traceparent');
    expect(coin?.metadata.traceparent).toBe(valid);
    // The outbox test below checks that every event, these included, reached JetStream.
  });
});

describe('two failing checks in one request: the first in docs/protocol.md section 5 decides (issue 17 item 8)', () => {
  // Each stream is installed (version 1) with command id `<id>-first`, so a second request can be stale
  // (expectedVersion 0), reuse that id for another command, or both, besides a bad payload or type.
  const prepare = async (id: string): Promise<string> => {
    const commandId = `${id}-first`;
    expect(await client.send(Turnstile, id, { type: 'install', payload: {} }, { commandId })).toMatchObject({ status: 'ok', version: 1 });
    return commandId;
  };
  const send = (id: string, command: { type: string; payload: unknown }, commandId: string, expectedVersion?: number) =>
    raw(
      commandSubject('turnstile', partitionOf(id, 64)),
      JSON.stringify({ id, command, commandId, ...(expectedVersion === undefined ? {} : { expectedVersion }) }),
    );
  const badPayload = { type: 'insertCoin', payload: { coins: 'many' } };
  const unknownType = { type: 'kick', payload: {} };
  const other = { type: 'insertCoin', payload: {} };
  const rejected = { type: 'install', payload: {} }; // already installed: the decision would reject it

  const pairs: Array<[string, (id: string, firstId: string) => Promise<unknown>, string]> = [
    ['bad payload + stale expectedVersion', (id) => send(id, badPayload, `${id}-2`, 0), ErrorCode.VALIDATION_FAILED],
    ['bad payload + reused command id', (id, firstId) => send(id, badPayload, firstId), ErrorCode.VALIDATION_FAILED],
    ['unknown command + stale expectedVersion', (id) => send(id, unknownType, `${id}-2`, 0), ErrorCode.UNKNOWN_COMMAND],
    ['unknown command + reused command id', (id, firstId) => send(id, unknownType, firstId), ErrorCode.UNKNOWN_COMMAND],
    [
      'unknown command + bad payload (the type is checked first)',
      (id) => send(id, { type: 'kick', payload: 7 }, `${id}-2`),
      ErrorCode.UNKNOWN_COMMAND,
    ],
    ['reused command id + stale expectedVersion', (id, firstId) => send(id, other, firstId, 0), ErrorCode.COMMAND_ID_REUSED],
    // The same type as the first command, but with expectedVersion 1: another request hash.
    ['reused command id + a decision that rejects', (id, firstId) => send(id, rejected, firstId, 1), ErrorCode.COMMAND_ID_REUSED],
    ['stale expectedVersion + a decision that rejects', (id) => send(id, rejected, `${id}-2`, 0), ErrorCode.VERSION_CONFLICT],
  ];

  for (const [name, act, expected] of pairs) {
    it(`${name} → ${expected}, nothing written`, async () => {
      const id = `pair-${name.replace(/[^a-z]+/g, '-')}`;
      const firstId = await prepare(id);
      const before = await eventCount();
      const reply = (await act(id, firstId)) as Awaited<ReturnType<typeof raw>>;
      expect(reply.status === 'error' ? reply.error.code : reply.status).toBe(expected);
      expect(await eventCount()).toBe(before);
    });
  }

  it('a retry of the committed command with a now-stale expectedVersion gets its first answer, not a conflict', async () => {
    const id = 'pair-retry-stale';
    expect(await send(id, { type: 'install', payload: {} }, 'retry-stale-1', 0)).toMatchObject({
      status: 'ok',
      version: 1,
      duplicate: false,
    });
    await client.send(Turnstile, id, { type: 'insertCoin', payload: {} });
    // The same request again (expectedVersion 0, now stale): its first answer.
    const reply = await send(id, { type: 'install', payload: {} }, 'retry-stale-1', 0);
    expect(reply).toMatchObject({ status: 'ok', version: 1, duplicate: true });
  });
});

describe('commands nobody subscribes', () => {
  it('reach no worker subscription (no duplicate delivery): NATS answers no responders', async () => {
    await expect(
      raw(commandSubject('elevator', 3), JSON.stringify({ id: 'x', command: { type: 'install', payload: {} }, commandId: 'no-sub' })),
    ).rejects.toMatchObject({ message: expect.stringMatching(/no responders/i) });
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
