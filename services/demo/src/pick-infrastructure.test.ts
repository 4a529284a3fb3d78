// Which infrastructure the demo picks when servers cannot be had: the server launchers and both
// infrastructures are replaced, so only the decision is under test (the demo tests run the real ones).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const ensureServers = vi.hoisted(() => vi.fn());
vi.mock('@ratchet/launchers', async (importOriginal) => ({ ...(await importOriginal<object>()), ensureServers }));
vi.mock('./embedded-infrastructure.js', () => ({
  startEmbeddedInfrastructure: vi.fn(async (o: { reason: string }) => ({ label: 'embedded', reason: o.reason })),
}));
vi.mock('./server-infrastructure.js', () => ({ createServerInfrastructure: vi.fn(() => ({ label: 'servers' })) }));

const { LauncherError, LauncherErrorCode } = await import('@ratchet/launchers');
const { default: turnstileApp } = await import('@ratchet/turnstile-app');
const { pickInfrastructure } = await import('./pick-infrastructure.js');
const { NoInfrastructureError } = await import('./no-infrastructure-error.js');

let dataDir: string;
const pick = () =>
  pickInfrastructure({
    root: dataDir,
    app: { app: turnstileApp, file: join(dataDir, 'app.ts'), riders: true },
    dataDir,
    logDir: dataDir,
    fresh: false,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  });
const notFound = () => {
  const missing = new LauncherError('nats-server not found on PATH', { code: LauncherErrorCode.NOT_FOUND });
  return new LauncherError('NATS_URL is unset and starting a NATS failed', { code: LauncherErrorCode.NOT_FOUND, cause: missing });
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ratchet-pick-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  ensureServers.mockReset();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('pickInfrastructure', () => {
  it('runs on the servers ensureServers gives, with the data under dataDir, each server in its own process group', async () => {
    ensureServers.mockResolvedValue({ natsUrl: 'nats://x', databaseUrl: 'postgres://x' });
    expect(await pick()).toEqual({ label: 'servers' });
    expect(ensureServers).toHaveBeenCalledWith(
      expect.objectContaining({
        required: true,
        nats: { storeDir: join(dataDir, 'nats'), detached: true },
        postgres: { dataDir: join(dataDir, 'postgres'), detached: true },
      }),
    );
  });

  it('falls back to embedded mode when a binary is missing, saying which', async () => {
    ensureServers.mockRejectedValue(notFound());
    expect(await pick()).toEqual({ label: 'embedded', reason: 'nats-server not found on PATH' });
  });

  it('refuses embedded mode with RATCHET_DEMO_INFRA=servers', async () => {
    vi.stubEnv('RATCHET_DEMO_INFRA', 'servers');
    ensureServers.mockRejectedValue(notFound());
    await expect(pick()).rejects.toBeInstanceOf(NoInfrastructureError);
  });

  it('does not hide a server that is named but does not answer', async () => {
    ensureServers.mockRejectedValue(
      new LauncherError('NATS_URL=nats://x is set but NATS does not answer there', { code: LauncherErrorCode.UNREACHABLE }),
    );
    await expect(pick()).rejects.toThrow(/does not answer/);
  });

  it('goes embedded without looking for servers when RATCHET_DEMO_INFRA=embedded', async () => {
    vi.stubEnv('RATCHET_DEMO_INFRA', 'embedded');
    expect(await pick()).toEqual({ label: 'embedded', reason: 'RATCHET_DEMO_INFRA=embedded' });
    expect(ensureServers).not.toHaveBeenCalled();
  });
});
