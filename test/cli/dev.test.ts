// `ratchet dev examples/bookstore` (issue 13 item 2): one command runs another app than the
// turnstile — its workers, projector, gateway and dashboard, and the bookstore's own page (web.ts,
// named in its package.json) — prints where they are, lets `ratchet send` check commands against
// the app it finds through demo.json, serves a working page, and stops everything on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isProcessAlive, startNatsServer, waitFor, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRatchet } from './run-ratchet.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

let nats: NatsServerHandle | undefined;
let db: TestDatabase | undefined;
let dataDir: string;
let dev: ChildProcess | undefined;
let exited: Promise<number | null>;
const stdout: string[] = [];
const logs: Array<Record<string, unknown>> = [];

/** The pids of the processes the run started, from its "… ready" log lines. */
const childPids = (): number[] =>
  logs.filter((l) => / ready$/.test(String(l.msg)) && typeof l.pid === 'number').map((l) => l.pid as number);

const lineOf = (prefix: string): string => {
  const line = stdout.find((l) => l.startsWith(prefix));
  if (line === undefined) throw new Error(`no "${prefix}" line in:\n${stdout.join('\n')}`);
  return line;
};
const urlOf = (prefix: string): string => /http:\/\/\S+\//.exec(lineOf(prefix))![0];

beforeAll(async () => {
  // A NATS of its own: workers in membership mode share the members bucket, and the events stream
  // dedupes by stream and version, across everything on one server.
  nats = await startNatsServer();
  db = await createTestDatabase('dev');
  dataDir = mkdtempSync(join(tmpdir(), 'ratchet-dev-'));
  // Its own process group, as a shell gives a foreground job: SIGINT to the group is a Ctrl-C.
  dev = spawn(
    process.execPath,
    ['packages/cli/bin/ratchet.js', 'dev', 'examples/bookstore', '--workers', '2', '--port', '0', '--gateway-port', '0', '--web-port', '0'],
    {
      cwd: root,
      env: { ...process.env, NATS_URL: nats.url, DATABASE_URL: db.url, RATCHET_DATA_DIR: dataDir, RATCHET_APP: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  exited = new Promise((resolve) => dev!.once('exit', (code) => resolve(code)));
  createInterface({ input: dev.stdout! }).on('line', (l) => stdout.push(l));
  createInterface({ input: dev.stderr! }).on('line', (l) => {
    try {
      logs.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      logs.push({ msg: l });
    }
  });
  await waitFor(async () => stdout.some((l) => l.endsWith('Ctrl-C stops everything.')), {
    what: 'ratchet dev to say it runs',
    timeoutMs: 180_000,
    intervalMs: 200,
    abortIf: () => {
      if (dev?.exitCode !== null)
        throw new Error(
          `ratchet dev exited (${dev?.exitCode}):\n${stdout.join('\n')}\n${logs
            .slice(-10)
            .map((l) => JSON.stringify(l))
            .join('\n')}`,
        );
    },
  });
}, 240_000);

afterAll(async () => {
  // Whatever the assertions said: nothing it started may outlive the test.
  if (dev?.exitCode === null && dev.pid !== undefined) process.kill(-dev.pid, 'SIGKILL');
  for (const pid of childPids()) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  await db?.drop();
  await nats?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('ratchet dev examples/bookstore', () => {
  it('says what runs and where, and writes demo.json with the app for the CLI', () => {
    expect(stdout[0]).toMatch(/^Ratchet dev: app bookstore \(examples\/bookstore\/src\/app\.ts\): 2 workers, a projector$/);
    for (const prefix of ['Dashboard: ', 'Gateway: ', 'Web: ']) expect(lineOf(prefix)).toMatch(/^\w+: http:\/\/127\.0\.0\.1:\d+\//);
    expect(lineOf('NATS: ')).toBe(`NATS: ${nats!.url}  Postgres: ${db!.url}`);
    const state = JSON.parse(readFileSync(join(dataDir, 'demo.json'), 'utf8')) as Record<string, unknown>;
    expect(state).toMatchObject({
      app: join(root, 'examples/bookstore/src/app.ts'),
      appName: 'bookstore',
      webUrl: urlOf('Web: '),
      gatewayUrl: urlOf('Gateway: '),
      distributed: true,
    });
  });

  it('serves the bookstore page, whose form adds an author through the gateway', async () => {
    const web = urlOf('Web: ');
    const page = await fetch(web);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h1>Authors</h1>');
    const added = await fetch(`${web}authors`, {
      method: 'POST',
      body: new URLSearchParams({ authorId: '', name: 'Ursula K. Le Guin', email: 'ursula@example.com' }),
      redirect: 'manual',
    });
    expect(added.status).toBe(303);
    const listed = await fetch(new URL(added.headers.get('location')!, web));
    expect(await listed.text()).toContain('Ursula K. Le Guin');
  });

  it('lets ratchet send check commands against the app it finds through demo.json', async () => {
    const env = { RATCHET_DATA_DIR: dataDir, NATS_URL: undefined, DATABASE_URL: undefined, RATCHET_APP: undefined };
    const refused = await runRatchet(['send', 'author', 'a-1', 'frobnicate'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^ratchet: aggregate author has no command "frobnicate" \(it has: /);
    const unknown = await runRatchet(['send', 'turnstile', 't-1', 'install'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown aggregate "turnstile" (app bookstore has: ');
  });

  it('stops everything on Ctrl-C, the page and the gateway before the workers, and removes demo.json', { timeout: 120_000 }, async () => {
    const started = childPids();
    expect(started.length).toBeGreaterThanOrEqual(5);
    process.kill(-dev!.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(stdout.at(-1)).toBe('Ratchet dev stopped.');
    expect(stdout).toContain(
      "Stopping: the app's web server, the gateway, the dashboard and the projector, then the workers (they drain), then the servers. Ctrl-C again to kill them at once.",
    );
    await waitFor(async () => started.every((pid) => !isProcessAlive(pid)), {
      what: 'every process it started to be gone',
      timeoutMs: 30_000,
    }).catch(() => undefined);
    expect(started.filter((pid) => isProcessAlive(pid))).toEqual([]);
    expect(existsSync(join(dataDir, 'demo.json'))).toBe(false);
    const webLog = readFileSync(join(dataDir, 'logs', 'web.log'), 'utf8');
    expect(webLog).toContain('"msg":"bookstore web ready"');
  });
});
