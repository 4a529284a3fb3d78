import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from './free-port.js';
import { LauncherError } from './launcher-error.js';
import { isProcessAlive } from './process-alive.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

// Children are plain-node .mjs scripts (no tsx), so each starts in tens of milliseconds.
let dir: string;
const started: ServiceProcess[] = [];

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, `${name}.mjs`);
  await writeFile(path, body);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-service-process-'));
});

afterEach(async () => {
  for (const service of started.splice(0)) await service.stop(1_000);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('startServiceProcess', () => {
  it('resolves with the ready line, keeps stdout logs and stderr, and passes the env', async () => {
    const entry = await script(
      'ready',
      `console.log('not json');
console.error('to stderr');
console.log(JSON.stringify({ msg: 'svc ready', port: 7, env: process.env.EXTRA, parent: process.env.RATCHET_EXIT_WITH_PARENT, args: process.argv.slice(2) }));
setInterval(() => {}, 1000);`,
    );
    const service = await startServiceProcess({ entry, args: ['one', 'two'], readyMessage: 'svc ready', env: { EXTRA: 'yes' } });
    started.push(service);
    expect(service.ready).toMatchObject({ msg: 'svc ready', port: 7, env: 'yes', parent: 'true', args: ['one', 'two'] });
    expect(service.logs[0]).toEqual({ msg: 'not json' });
    expect(service.exit).toBeUndefined();
    expect(isProcessAlive(service.pid)).toBe(true);
    await expect.poll(() => service.stderr).toContain('to stderr');
    expect(await service.stop()).toBe('SIGTERM');
    expect(service.exit).toBe('SIGTERM');
  });

  it('rejects with the last lines when the child exits before it is ready', async () => {
    const entry = await script('dies', `console.error('boom: no config'); process.exit(3);`);
    const error = await startServiceProcess({ entry, name: 'dier', readyMessage: 'never' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LauncherError);
    expect((error as LauncherError).message).toMatch(/^dier exited with 3 before it was ready/);
    expect((error as LauncherError).log).toContain('boom: no config');
  });

  it('kills the child and rejects when the ready line does not come in time', async () => {
    const entry = await script('silent', `console.log(JSON.stringify({ pid: process.pid })); setInterval(() => {}, 1000);`);
    const error = await startServiceProcess({ entry, readyMessage: 'never', readyTimeoutMs: 300 }).catch((e: unknown) => e);
    expect((error as LauncherError).message).toMatch(/did not log "never" within 300 ms/);
    const pid = Number(JSON.parse((error as LauncherError).log ?? '{}').pid);
    expect(pid).toBeGreaterThan(0);
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('with readyPort, is ready once the port accepts connections (a web server that logs nothing)', async () => {
    const port = await findFreePort();
    const entry = await script(
      'listens-late',
      `import { createServer } from 'node:net';
setTimeout(() => createServer((s) => s.end()).listen(Number(process.env.HTTP_PORT), '127.0.0.1'), 300);`,
    );
    const service = await startServiceProcess({ entry, readyPort: port, env: { HTTP_PORT: String(port) } });
    started.push(service);
    expect(service.ready).toEqual({ httpPort: port });
    const dead = await script('exits-before-listening', `process.exit(4);`);
    const error = await startServiceProcess({ entry: dead, name: 'web', readyPort: await findFreePort() }).catch((e: unknown) => e);
    expect((error as LauncherError).message).toMatch(/^web exited with 4 before it was ready/);
  });

  it('sends SIGKILL when SIGTERM is ignored past the deadline', async () => {
    const entry = await script(
      'stubborn',
      `process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
console.log(JSON.stringify({ msg: 'worker ready' }));
setInterval(() => {}, 1000);`,
    );
    const service = await startServiceProcess({ entry });
    started.push(service);
    expect(await service.stop(300)).toBe('SIGKILL');
    expect(service.logs.some((l) => l.msg === 'ignoring SIGTERM')).toBe(true);
  });

  it('keeps only the last maxLogLines lines and appends every line to the log file', async () => {
    const entry = await script(
      'chatty',
      `for (let i = 0; i < 50; i++) console.log(JSON.stringify({ msg: 'line', i }));
console.log(JSON.stringify({ msg: 'worker ready' }));
setInterval(() => {}, 1000);`,
    );
    const logFile = join(dir, 'chatty.log');
    const service = await startServiceProcess({ entry, maxLogLines: 5, logFile });
    started.push(service);
    expect(service.logs).toHaveLength(5);
    expect(service.logs.at(-1)).toMatchObject({ msg: 'worker ready' });
    await service.stop();
    await expect.poll(async () => (await readFile(logFile, 'utf8')).split('\n').filter((l) => l !== '').length).toBe(51);
  });
});
