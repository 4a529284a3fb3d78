// deploy/nats/accounts.conf loaded into a private nats-server: each service user is refused the
// subjects it must not use, and can do what its service needs (so the test fails both ways).
// Refusals are the server's `-ERR 'Permissions Violation …'`, which nats.js v3 reports as a
// PermissionViolationError on `nc.status()` (type "error"). The server answers a PUB or SUB in
// order, so once a flush (PING/PONG) returns, any refusal of what was sent before it has arrived.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { connect, errors, headers, type NatsConnection, type PermissionViolationError } from '@nats-io/transport-node';
import { createMembership, natsPeerLiveness } from '@ratchet/cluster';
import { startNatsServer, waitFor, type NatsServerHandle } from '@ratchet/launchers';
import { EVENTS_STREAM, ensureEventsStream } from '@ratchet/transport-nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PASSWORDS = {
  NATS_CLIENT_PASSWORD: 'client-pw',
  NATS_WORKER_PASSWORD: 'worker-pw',
  NATS_PROJECTOR_PASSWORD: 'projector-pw',
  NATS_DASHBOARD_PASSWORD: 'dashboard-pw',
  NATS_OPERATOR_PASSWORD: 'operator-pw',
  NATS_SYS_PASSWORD: 'sys-pw',
} as const;
type User = 'client' | 'worker' | 'projector' | 'operator';

let dir: string;
let server: NatsServerHandle | undefined;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  // The deploy config, made private: this file's own dir, no cluster routes or fixed ports (the
  // launcher passes a free port and a temp JetStream store dir, which win over the file), and no
  // `sync_interval` (nats-server 2.9 refuses it; see test/deploy/nats-config.test.ts).
  dir = mkdtempSync(join(tmpdir(), 'ratchet-nats-sec-'));
  writeFileSync(join(dir, 'accounts.conf'), readFileSync('deploy/nats/accounts.conf', 'utf8'));
  const node = readFileSync('deploy/nats/nats-1.conf', 'utf8');
  expect(node).toMatch(/^include \.\/accounts\.conf$/m);
  writeFileSync(join(dir, 'nats.conf'), `server_name: ratchet-sec\njetstream {\n  max_file_store: 1GB\n}\ninclude ./accounts.conf\n`);
  // The passwords come from the environment, as in production; the launcher's child inherits it.
  Object.assign(process.env, PASSWORDS);
  server = await startNatsServer({ config: join(dir, 'nats.conf') });
}, 60_000);

afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A connection as `user`, recording the permission violations the server reports. */
async function connectAs(user: User): Promise<{ nc: NatsConnection; violations: PermissionViolationError[] }> {
  const pass = PASSWORDS[`NATS_${user.toUpperCase()}_PASSWORD` as keyof typeof PASSWORDS];
  const nc = await connect({ servers: server!.url, user, pass, name: `sec-${user}` });
  connections.push(nc);
  const violations: PermissionViolationError[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && s.error instanceof errors.PermissionViolationError) violations.push(s.error);
    }
  })();
  return { nc, violations };
}

/** Whether the server refused `operation` on `subject` (after a round trip, so the answer is in). */
async function refused(
  conn: { nc: NatsConnection; violations: PermissionViolationError[] },
  operation: 'publish' | 'subscription',
  subject: string,
): Promise<boolean> {
  await conn.nc.flush();
  // The -ERR precedes the PONG on the wire; one more turn lets the status iterator deliver it.
  await conn.nc.flush();
  return conn.violations.some((v) => v.operation === operation && v.subject === subject);
}

async function publishRefused(conn: Awaited<ReturnType<typeof connectAs>>, subject: string): Promise<boolean> {
  conn.nc.publish(subject, 'x');
  return refused(conn, 'publish', subject);
}

async function subscribeRefused(conn: Awaited<ReturnType<typeof connectAs>>, subject: string): Promise<boolean> {
  const sub = conn.nc.subscribe(subject);
  const result = await refused(conn, 'subscription', subject);
  sub.unsubscribe();
  return result;
}

describe('worker', () => {
  it('can keep the events stream, publish events to JetStream and heartbeat in the members bucket', async () => {
    const worker = await connectAs('worker');
    const jsm = await jetstreamManager(worker.nc);
    await ensureEventsStream(jsm);
    const h = headers();
    h.set('Nats-Msg-Id', 'turnstile/sec-1:1');
    const ack = await jetstream(worker.nc).publish('ratchet.evt.turnstile.sec-1', '{}', { msgID: 'turnstile/sec-1:1', headers: h });
    expect(ack.stream).toBe(EVENTS_STREAM);
    const membership = await createMembership({ nats: worker.nc, workerId: 'sec-worker', heartbeatIntervalMs: 100, ttlMs: 1_000 });
    try {
      await waitFor(async () => membership.members().includes('sec-worker'), { what: 'own heartbeat seen', timeoutMs: 10_000 });
    } finally {
      await membership.stop();
    }
    expect(worker.violations).toEqual([]);
  });

  it('serves commands: subscribes ratchet.cmd.> and replies to a client', async () => {
    const worker = await connectAs('worker');
    const client = await connectAs('client');
    const sub = worker.nc.subscribe('ratchet.cmd.>', {
      callback: (_err, msg) => {
        msg.respond('pong');
      },
    });
    await worker.nc.flush();
    const reply = await client.nc.request('ratchet.cmd.turnstile.7', 'ping', { timeout: 5_000 });
    expect(reply.string()).toBe('pong');
    sub.unsubscribe();
    expect([...worker.violations, ...client.violations]).toEqual([]);
  });

  it("answers on its liveness subject and asks a peer's, so a peer whose connection closed is found gone at once", async () => {
    const a = await connectAs('worker');
    const b = await connectAs('worker');
    const errors: Error[] = [];
    const stopA = natsPeerLiveness(a.nc).listen('sec-a', (e) => errors.push(e));
    const stopB = natsPeerLiveness(b.nc).listen('sec-b', (e) => errors.push(e));
    await Promise.all([a.nc.flush(), b.nc.flush()]);
    expect(await natsPeerLiveness(a.nc).ask('sec-b')).toBe('answers');
    expect(await natsPeerLiveness(b.nc).ask('sec-a')).toBe('answers');
    await stopB();
    expect(await natsPeerLiveness(a.nc).ask('sec-b')).toBe('gone');
    await stopA();
    expect(errors).toEqual([]);
    expect([...a.violations, ...b.violations]).toEqual([]);
  });

  it.each([
    '$JS.API.STREAM.DELETE.RATCHET_EVENTS',
    '$JS.API.STREAM.PURGE.RATCHET_EVENTS',
    '$JS.API.STREAM.DELETE.KV_ratchet_members',
    '$JS.API.CONSUMER.DELETE.RATCHET_EVENTS.proj_turnstile_v1',
    '$JS.API.ACCOUNT.PURGE.RATCHET',
    'ratchet.cmd.turnstile.1',
  ])('may not publish %s', async (subject) => {
    expect(await publishRefused(await connectAs('worker'), subject)).toBe(true);
  });

  it('cannot delete the events stream through the JetStream API', async () => {
    const worker = await connectAs('worker');
    const jsm = await jetstreamManager(worker.nc);
    await expect(jsm.streams.delete(EVENTS_STREAM)).rejects.toThrow();
    const operator = await connectAs('operator');
    expect((await (await jetstreamManager(operator.nc)).streams.info(EVENTS_STREAM)).config.name).toBe(EVENTS_STREAM);
  });
});

describe('client', () => {
  it.each([
    ['subscription', 'ratchet.cmd.>'],
    ['subscription', 'ratchet.cmd.turnstile.3'],
    ['subscription', 'ratchet.evt.>'],
    ['subscription', 'ratchet.worker.w1.alive'],
  ] as const)('may not subscribe %s %s (cannot serve commands, read events or pose as a live worker)', async (_op, subject) => {
    expect(await subscribeRefused(await connectAs('client'), subject)).toBe(true);
  });

  it.each([
    'ratchet.evt.turnstile.x',
    '$JS.API.STREAM.DELETE.RATCHET_EVENTS',
    '$KV.ratchet_members.intruder',
  ])('may not publish %s', async (subject) => {
    expect(await publishRefused(await connectAs('client'), subject)).toBe(true);
  });

  it('may publish a command (nothing refused)', async () => {
    const client = await connectAs('client');
    expect(await publishRefused(client, 'ratchet.cmd.turnstile.3')).toBe(false);
    expect(client.violations).toEqual([]);
  });
});

describe('projector', () => {
  it('consumes the events stream through a durable consumer and acks', async () => {
    const projector = await connectAs('projector');
    const jsm = await jetstreamManager(projector.nc);
    await jsm.consumers.add(EVENTS_STREAM, { durable_name: 'sec_projector', ack_policy: AckPolicy.Explicit });
    const consumer = await jetstream(projector.nc).consumers.get(EVENTS_STREAM, 'sec_projector');
    const m = await consumer.next({ expires: 5_000 });
    expect(m?.subject).toBe('ratchet.evt.turnstile.sec-1');
    await m!.ackAck();
    expect(projector.violations).toEqual([]);
  });

  it.each([
    'ratchet.evt.turnstile.x',
    '$JS.API.STREAM.DELETE.RATCHET_EVENTS',
    '$JS.API.STREAM.PURGE.RATCHET_EVENTS',
    '$KV.ratchet_members.intruder',
  ])('may not publish %s', async (subject) => {
    expect(await publishRefused(await connectAs('projector'), subject)).toBe(true);
  });

  it("sends its process managers' commands (publish ratchet.cmd.>)", async () => {
    const projector = await connectAs('projector');
    expect(await publishRefused(projector, 'ratchet.cmd.station.3')).toBe(false);
    expect(projector.violations).toEqual([]);
  });

  it.each(['ratchet.cmd.>', 'ratchet.evt.>'])('may not subscribe %s', async (subject) => {
    expect(await subscribeRefused(await connectAs('projector'), subject)).toBe(true);
  });
});
