import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ensureServers } from './ensure-servers.js';
import { LauncherError, LauncherErrorCode } from './launcher-error.js';

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('ensureServers with URLs that do not answer', () => {
  it('names both DATABASE_URL and NATS_URL when neither answers', async () => {
    const port = await closedPort();
    vi.stubEnv('DATABASE_URL', `postgres://postgres@127.0.0.1:${port}/postgres`);
    vi.stubEnv('NATS_URL', `nats://127.0.0.1:${port}`);
    const error = await ensureServers({ verifyTimeoutMs: 200, containers: false, log: () => undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LauncherError);
    expect((error as LauncherError).code).toBe(LauncherErrorCode.UNREACHABLE);
    const lines = (error as LauncherError).message.split('\n');
    expect(lines).toEqual([
      `DATABASE_URL=postgres://postgres@127.0.0.1:${port}/postgres is set but Postgres does not answer there; start it, fix the URL, or unset DATABASE_URL to have one started`,
      `NATS_URL=nats://127.0.0.1:${port} is set but NATS does not answer there; start it, fix the URL, or unset NATS_URL to have one started`,
    ]);
  });
});
