// The services run whatever app RATCHET_APP names: here a counter app from a fixture file
// (TypeScript, no build step). The worker answers its commands over NATS, the projector builds its
// read model, the dashboard shows what is generic. A bad app module stops a process at start with
// exit code 2 and one fatal log line naming the file and the problem.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectClient, type RatchetClient } from '@ratchet/client';
import { startNatsServer, startServiceProcess, waitFor, type NatsServerHandle, type ServiceProcess } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Counter } from '../../packages/app/test/fixtures/counter.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = 'services/worker/src/main.ts';
const PROJECTOR = 'services/projector/src/main.ts';
const DASHBOARD = 'services/dashboard/src/main.ts';
const FIXTURES = 'packages/app/test/fixtures';

describe('worker, projector and dashboard services with RATCHET_APP', () => {
  let nats: NatsServerHandle;
  let db: TestDatabase;
  let worker: ServiceProcess | undefined;
  let projector: ServiceProcess | undefined;
  let dashboard: ServiceProcess | undefined;
  let client: RatchetClient;

  beforeAll(async () => {
    nats = await startNatsServer();
    db = await createTestDatabase('workerapp');
    worker = await startServiceProcess({
      entry: WORKER,
      env: {
        NATS_URL: nats.url,
        DATABASE_URL: db.url,
        HTTP_PORT: '0',
        CLUSTER_MODE: 'static',
        RATCHET_PARTITIONS: '4',
        RATCHET_APP: `${FIXTURES}/counter-app.ts`,
      },
    });
    client = await connectClient({ servers: nats.url, partitionCount: 4, timeoutMs: 10_000 });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await dashboard?.stop();
    await projector?.stop();
    await worker?.stop();
    await nats?.stop();
    await db?.drop();
  }, 60_000);

  it("logs the app it loaded and serves that app's aggregate", async () => {
    expect(worker!.ready).toMatchObject({ app: 'counter' });
    expect(worker!.logs.find((l) => l.msg === 'app loaded')).toMatchObject({
      app: 'counter',
      file: `${root}${FIXTURES}/counter-app.ts`,
      aggregates: ['counter'],
    });

    const first = await client.send(Counter, 'c-1', { type: 'add', payload: { n: 40 } });
    expect(first).toMatchObject({ status: 'ok', version: 1, events: [{ type: 'added', data: { n: 40 } }] });
    const second = await client.send(Counter, 'c-1', { type: 'add', payload: { n: 2 } });
    expect(second).toMatchObject({ status: 'ok', version: 2 });
    // The aggregate's own rule, decided against the state the first two commands left.
    const refused = await client.send(Counter, 'c-1', { type: 'add', payload: { n: 59 } });
    expect(refused).toMatchObject({ status: 'rejected', reason: 'a counter stops at 100', version: 2 });
  });

  it('does not serve the turnstile, which this app does not define', async () => {
    const result = await client.sendRaw('turnstile', 't-1', { type: 'install' });
    expect(result.status).toBe('error');
    expect(result.status === 'error' && result.error.code).toBe('UNKNOWN_AGGREGATE');
  });

  it("runs the app's projection in the projector", async () => {
    projector = await startServiceProcess({
      entry: PROJECTOR,
      readyMessage: 'projector ready',
      env: { NATS_URL: nats.url, DATABASE_URL: db.url, HTTP_PORT: '0', RATCHET_APP: `${FIXTURES}/counter-app.ts` },
    });
    expect(projector.ready).toMatchObject({ app: 'counter', projections: ['counter_totals@v1'] });
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    try {
      const total = async (): Promise<unknown> =>
        (
          await reader
            .query<{ total: number; version: number }>('SELECT total, version FROM counter_totals WHERE id = $1', ['c-1'])
            .catch(() => ({ rows: [] }))
        ).rows[0];
      await waitFor(async () => (await total()) !== undefined, { what: 'the counter_totals row of c-1', timeoutMs: 30_000 });
      expect(await total()).toEqual({ total: 42, version: 2 });
    } finally {
      await reader.end();
    }
  });

  it('shows the generic dashboard for an app without the turnstile read model', async () => {
    dashboard = await startServiceProcess({
      entry: DASHBOARD,
      readyMessage: 'dashboard ready',
      env: { NATS_URL: nats.url, DATABASE_URL: db.url, HTTP_PORT: '0', TICK_MS: '100', RATCHET_APP: `${FIXTURES}/counter-app.ts` },
    });
    const url = `http://127.0.0.1:${String(dashboard.ready.httpPort)}`;
    const state = async (): Promise<Record<string, unknown>> => (await (await fetch(`${url}/api/state`)).json()) as Record<string, unknown>;
    await waitFor(async () => (await state()).aggregates !== undefined, { what: 'a first refresh', timeoutMs: 20_000 });
    const s = await state();
    expect(s.app).toEqual({ name: 'counter', aggregateTypes: ['counter'], turnstile: false, stations: false, processes: [] });
    expect(s.aggregates).toEqual([{ type: 'counter', instances: 1, events: 2 }]);
    expect(s.rows).toEqual([]);
    expect(s).not.toHaveProperty('totals');
    const command = await fetch(`${url}/api/turnstiles/t-1/commands`, { method: 'POST', body: JSON.stringify({ type: 'install' }) });
    expect(command.status).toBe(404);
    expect(((await command.json()) as { error: string }).error).toMatch(/^app "counter" has no turnstile read model/);
    expect(dashboard.logs.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });
});

interface Exited {
  readonly code: number | null;
  readonly stdout: string[];
  readonly stderr: string;
}

/** Run a service to its exit (a bad app ends it before it touches NATS or Postgres). */
function runService(entry: string, args: string[], env: Record<string, string>): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', entry, ...args], {
      cwd: root,
      // Unreachable servers: the process must stop on the app before it tries them.
      env: { ...process.env, NATS_URL: 'nats://127.0.0.1:1', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: stdout.split('\n').filter((l) => l !== ''), stderr });
    });
  });
}

describe('worker service with a bad app module', () => {
  it.each([
    [
      'a missing file, by RATCHET_APP',
      [],
      { RATCHET_APP: `${FIXTURES}/no-such-app.ts` },
      'not-found',
      /: no such file \(given "packages\/app\/test\/fixtures\/no-such-app\.ts", resolved against /,
    ],
    [
      'a syntax error, by path argument',
      [`${FIXTURES}/syntax-error.ts`],
      {},
      'syntax-error',
      /: syntax error at .*syntax-error\.ts:4:57: Unexpected "\}"$/,
    ],
    [
      'two aggregates of one type',
      [],
      { RATCHET_APP: `${FIXTURES}/duplicate-aggregates.ts` },
      'invalid-app',
      /: app "twice" is invalid, 1 problem: aggregates\.1\.type: aggregate type "counter" is listed twice/,
    ],
  ])('%s: exit 2 and one fatal line naming the file and the problem', async (_case, args, env, reason, problem) => {
    const run = await runService(WORKER, args, env);
    expect(run.code).toBe(2);
    expect(run.stdout).toHaveLength(1);
    const line = JSON.parse(run.stdout[0]!) as Record<string, unknown>;
    const file = `${root}${FIXTURES}/${(args[0] ?? (env as Record<string, string | undefined>).RATCHET_APP)!.split('/').pop()}`;
    expect(line).toMatchObject({ level: 60, service: 'worker', code: 'APP_LOAD_FAILED', reason, file });
    expect(line.msg).toMatch(new RegExp(`^app module ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
    expect(line.msg).toMatch(problem);
    // A message, not a stack trace.
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('projector service with an app that has no projections and no processes', () => {
  it('exits 2 saying there is nothing to run', async () => {
    const run = await runService(PROJECTOR, [], { RATCHET_APP: `${FIXTURES}/tally-app.js` });
    expect(run.code).toBe(2);
    expect(run.stdout).toHaveLength(1);
    expect(JSON.parse(run.stdout[0]!)).toMatchObject({
      level: 60,
      service: 'projector',
      msg: `app module ${root}${FIXTURES}/tally-app.js: app "tally" defines no projections and no processes, so there is nothing for a projector to run`,
    });
  });
});
