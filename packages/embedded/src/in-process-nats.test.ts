import { setTimeout as sleep } from 'node:timers/promises';
import { errors, headers } from '@nats-io/transport-node';
import { connectClient } from '@ratchet/client';
import { ErrorCode } from '@ratchet/core';
import { describe, expect, it } from 'vitest';
import { InProcessNats } from './in-process-nats.js';
import { subjectMatches } from './subject-match.js';

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

describe('subjectMatches', () => {
  it('matches NATS wildcards', () => {
    expect(subjectMatches('ratchet.cmd.*.*', 'ratchet.cmd.turnstile.7')).toBe(true);
    expect(subjectMatches('ratchet.cmd.*.*', 'ratchet.cmd.turnstile')).toBe(false);
    expect(subjectMatches('ratchet.cmd.*.*', 'ratchet.cmd.turnstile.7.x')).toBe(false);
    expect(subjectMatches('ratchet.>', 'ratchet.cmd.turnstile.7')).toBe(true);
    expect(subjectMatches('ratchet.>', 'ratchet')).toBe(false);
    expect(subjectMatches('a.b', 'a.b')).toBe(true);
    expect(subjectMatches('a.b', 'a.c')).toBe(false);
  });
});

describe('InProcessNats', () => {
  it('delivers asynchronously to every plain subscription and to one member per queue group', async () => {
    const bus = new InProcessNats();
    const nc = bus.connect();
    const got: string[] = [];
    nc.subscribe('t.*', { callback: () => got.push('plain') });
    for (const name of ['q1', 'q2', 'q3']) nc.subscribe('t.>', { queue: 'g', callback: () => got.push(name) });
    nc.subscribe('other', { callback: () => got.push('other') });
    for (let i = 0; i < 30; i += 1) nc.publish('t.x', 'hi');
    expect(got).toEqual([]); // not yet: delivery is on a later turn
    await sleep(10);
    expect(got.filter((g) => g === 'plain')).toHaveLength(30);
    expect(got.filter((g) => g.startsWith('q'))).toHaveLength(30);
    expect(new Set(got.filter((g) => g.startsWith('q'))).size).toBeGreaterThan(1);
    expect(got).not.toContain('other');
    await nc.close();
  });

  it('request/reply with headers copied across, like a wire', async () => {
    const bus = new InProcessNats();
    const server = bus.connect();
    const client = bus.connect();
    server.subscribe('echo', {
      queue: 'workers',
      callback: (_err, msg) => msg.respond(utf8.encode(`${utf8d.decode(msg.data)}:${msg.headers?.get('x-k') ?? ''}`)),
    });
    const h = headers();
    h.set('x-k', 'v');
    const reply = await client.request('echo', 'ping', { timeout: 1_000, headers: h });
    expect(utf8d.decode(reply.data)).toBe('ping:v');
    await server.close();
    await client.close();
  });

  it('rejects as nats.js does: no responders, timeout, closed connection', async () => {
    const bus = new InProcessNats();
    const nc = bus.connect();
    const noOne = await nc.request('nobody.home', 'x', { timeout: 1_000 }).catch((e: unknown) => e);
    expect(noOne).toBeInstanceOf(errors.RequestError);
    expect((noOne as InstanceType<typeof errors.RequestError>).isNoResponders()).toBe(true);
    nc.subscribe('silent', { callback: () => undefined });
    await expect(nc.request('silent', 'x', { timeout: 30 })).rejects.toBeInstanceOf(errors.TimeoutError);
    await nc.close();
    expect(nc.isClosed()).toBe(true);
    await expect(nc.request('silent', 'x', { timeout: 30 })).rejects.toBeInstanceOf(errors.ClosedConnectionError);
  });

  it('drain delivers what was already routed, then stops taking messages', async () => {
    const bus = new InProcessNats();
    const nc = bus.connect();
    const got: number[] = [];
    const sub = nc.subscribe('d', { queue: 'g', callback: (_e, m) => got.push(Number(utf8d.decode(m.data))) });
    for (let i = 0; i < 5; i += 1) nc.publish('d', String(i));
    await sub.drain();
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(sub.isClosed()).toBe(true);
    nc.publish('d', '5');
    await sleep(5);
    expect(got).toHaveLength(5);
    await nc.drain();
    expect(nc.isClosed()).toBe(true);
  });

  it('the Ratchet client sees no responders as a retryable UNAVAILABLE, as over NATS', async () => {
    const bus = new InProcessNats();
    const client = await connectClient({ connection: bus.connect(), timeoutMs: 2_000, attemptTimeoutMs: 200 });
    const result = await client.sendRaw('turnstile', 't-1', { type: 'install' });
    expect(result.status).toBe('error');
    if (result.status === 'error') {
      expect(result.error.code).toBe(ErrorCode.UNAVAILABLE);
      expect(result.error.details).toMatchObject({ reason: 'no-responders' });
      expect(result.attempts).toBeGreaterThan(1);
    }
    await client.close();
  });
});
