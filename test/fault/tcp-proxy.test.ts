// The fault proxy itself: bytes pass in order, latency delays them, a reset reaches the client as
// ECONNRESET, a blackhole holds bytes until it heals.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

let echo: Server;
let proxy: TcpProxy;

beforeAll(async () => {
  echo = createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const address = echo.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  proxy = await startTcpProxy({ targetPort: address.port });
});
afterAll(async () => {
  await proxy?.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port: proxy.port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolve with what the socket received once `n` bytes came. */
function receive(s: Socket, n: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= n) resolve(got);
    });
  });
}

describe('TcpProxy', () => {
  it('forwards bytes both ways in order, also under latency', async () => {
    const s = await open();
    const text = Array.from({ length: 200 }, (_, i) => `${i};`).join('');
    const got = receive(s, text.length);
    proxy.latencyMs = 20;
    for (let i = 0; i < text.length; i += 37) s.write(text.slice(i, i + 37));
    const t0 = performance.now();
    expect(await got).toBe(text);
    proxy.latencyMs = 0;
    // Two one-way delays: there and back through the echo server.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30);
    s.destroy();
  });

  it('resets connections: the client sees ECONNRESET', async () => {
    const s = await open();
    const error = new Promise<NodeJS.ErrnoException>((resolve) => s.once('error', resolve));
    const ping = receive(s, 4);
    s.write('ping');
    await ping;
    expect(proxy.resetAll()).toBeGreaterThanOrEqual(1);
    expect((await error).code).toBe('ECONNRESET');
  });

  it('holds bytes while blackholed and delivers them on heal', async () => {
    const s = await open();
    proxy.blackhole();
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.write('held');
    // A round trip through a second, healthy path proves time passed with nothing delivered.
    const probe = await open();
    expect(proxy.stats().open).toBeGreaterThanOrEqual(2);
    expect(got).toBe('');
    const done = receive(s, 4);
    proxy.heal();
    expect(await done).toBe('held');
    s.destroy();
    probe.destroy();
  });
});
