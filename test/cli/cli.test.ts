// The `ratchet` CLI as users run it (the bin shim, a child process) against a private nats-server,
// a worker process and a fresh database: send, history, status, projections, --json, and the
// exit codes and one-line messages of the documented failures.
import {
  findFreePort,
  startNatsServer,
  startServiceProcess,
  waitFor,
  type NatsServerHandle,
  type ServiceProcess,
} from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isOneLineMessage, runRatchet } from './run-ratchet.js';

// Every step starts a Node process with tsx (seconds each, tens of seconds on a loaded CI
// machine), and some tests run several: give them room. Nothing here measures time.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

const WORKER_ID = 'cli-worker-1';
/** The turnstile app module, which the worker serves (its default): what `--app` names here. */
const TURNSTILE_APP = 'packages/turnstile-app/src/app.ts';
let nats: NatsServerHandle | undefined;
let db: TestDatabase | undefined;
let worker: ServiceProcess | undefined;
let env: Record<string, string>;

beforeAll(async () => {
  nats = await startNatsServer();
  db = await createTestDatabase('cli');
  env = { NATS_URL: nats.url, DATABASE_URL: db.url };
  worker = await startServiceProcess({
    entry: 'services/worker/src/main.ts',
    env: { ...env, HTTP_PORT: '0', WORKER_ID, LOG_LEVEL: 'info', HEARTBEAT_INTERVAL_MS: '200', MEMBER_TTL_MS: '2000' },
  });
});

afterAll(async () => {
  await worker?.stop(10_000);
  await db?.drop();
  await nats?.stop();
});

interface StatusJson {
  workers: Array<{ workerId: string; member: boolean; partitions: number[] }>;
  partitions: Array<{ partition: number; owner: string | null; epoch: number }>;
  outbox: { lagEvents: number };
  projections: Array<{ name: string; version: number; status: string; active: boolean; lagEvents: number | null }>;
  parked: number;
}

describe('ratchet against a running worker', () => {
  it('status shows the worker in the membership owning every partition', async () => {
    const status = await waitFor(
      async () => {
        const run = await runRatchet(['status', '--json'], env);
        expect(run.code, run.stderr).toBe(0);
        const report = JSON.parse(run.stdout) as StatusJson;
        return report.partitions.every((p) => p.owner === WORKER_ID) ? report : undefined;
      },
      { what: 'the worker to own all 64 partitions', timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(status.partitions).toHaveLength(64);
    expect(status.partitions.every((p) => p.epoch >= 1)).toBe(true);
    expect(status.workers).toEqual([expect.objectContaining({ workerId: WORKER_ID, member: true })]);
    expect(status.workers[0]!.partitions).toHaveLength(64);

    const human = await runRatchet(['status'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`${WORKER_ID}\\s+yes\\s+64\\s+0-63`));
    expect(human.stdout).toContain('partitions: 64, owned 64');
    // Each CLI run starts a Node process with tsx: seconds apiece on a loaded machine.
  }, 150_000);

  it('send commits a command and history lists it', async () => {
    const sent = await runRatchet(['send', 'turnstile', 'cli-t1', 'install', '--timeout-ms', '20000'], env);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/^ok {2}turnstile\/cli-t1 at version 1 /);
    expect(sent.stdout).toMatch(/1\s+installed\s+\{\}/);

    const history = await runRatchet(['history', 'turnstile', 'cli-t1'], env);
    expect(history.code, history.stderr).toBe(0);
    const lines = history.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERSION\s+TYPE\s+DATA\s+RECORDED AT$/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(/^1\s+installed\s+\{\}\s+\d{4}-\d\d-\d\dT/);
  });

  it('--json output parses: send ok, rejected (exit 1), error reply (exit 1) and history', async () => {
    const commandId = `cli-cmd-${Date.now()}`;
    const ok = await runRatchet(
      ['--json', 'send', 'turnstile', 'cli-t2', 'install', '{}', '--command-id', commandId, '--timeout-ms', '20000'],
      env,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      status: 'ok',
      version: 1,
      duplicate: false,
      commandId,
      events: [{ version: 1, type: 'installed' }],
    });

    const again = await runRatchet(['send', 'turnstile', 'cli-t2', 'install', '--command-id', commandId, '--json'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'ok', version: 1, duplicate: true });

    const rejected = await runRatchet(['send', 'turnstile', 'cli-t3', 'pushArm', '--json'], env);
    expect(rejected.code).toBe(1);
    expect(JSON.parse(rejected.stdout)).toMatchObject({ status: 'rejected', reason: 'Turnstile not installed', version: 0 });

    const conflict = await runRatchet(['send', 'turnstile', 'cli-t2', 'insertCoin', '--expected-version', '7', '--json'], env);
    expect(conflict.code).toBe(1);
    expect(JSON.parse(conflict.stdout)).toMatchObject({ status: 'error', error: { code: 'VERSION_CONFLICT', retryable: false } });

    const invalid = await runRatchet(['send', 'turnstile', 'cli-t2', 'insertCoin', '{"extra":1}', '--json'], env);
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.stdout)).toMatchObject({ status: 'error', error: { code: 'VALIDATION_FAILED' } });

    const history = await runRatchet(['history', 'turnstile', 'cli-t2', '--json'], env);
    expect(history.code).toBe(0);
    const events = JSON.parse(history.stdout) as Array<{ version: number; type: string; recordedAt: string }>;
    expect(events.map((e) => [e.version, e.type])).toEqual([[1, 'installed']]);
    expect(Number.isNaN(Date.parse(events[0]!.recordedAt))).toBe(false);
  });

  it("projections rebuild builds a version of the app's projection with progress on stderr; list and status show it", async () => {
    const noApp = await runRatchet(['projections', 'rebuild', 'turnstile', '--version', '1'], env);
    expect(noApp.code).toBe(2);
    expect(noApp.stderr).toMatch(/^ratchet: ratchet projections rebuild needs the app that defines it: pass --app <path>/);
    const rebuild = await runRatchet(['projections', 'rebuild', 'turnstile', '--version', '1', '--json', '--app', TURNSTILE_APP], env);
    expect(rebuild.code, rebuild.stderr).toBe(0);
    expect(JSON.parse(rebuild.stdout)).toMatchObject({ projection: 'turnstile', version: 1, status: 'following', activeVersion: 1 });
    expect(rebuild.stderr).toMatch(/turnstile@v1 \[#+\]\s+\d+\/\d+\s+100%\s+\d+ ev\/s\s+ETA/);

    const list = await runRatchet(['projections', 'list', '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ name: 'turnstile', version: 1, status: 'following', active: true, parked: 0 }),
    ]);

    const parked = await runRatchet(['projections', 'parked'], env);
    expect(parked).toMatchObject({ code: 0, stdout: 'no parked events\n' });
  });
});

describe('ratchet with the app: commands checked before they are sent', () => {
  it("a payload the command's zod schema refuses is VALIDATION_FAILED with every issue, exit 2, and nothing is sent", async () => {
    const appEnv = { ...env, RATCHET_APP: TURNSTILE_APP };
    const human = await runRatchet(['send', 'turnstile', 'cli-v1', 'install', '{"extra":1}'], appEnv);
    expect(human.code).toBe(2);
    expect(human.stdout).toMatch(
      /^error VALIDATION_FAILED: turnstile\/cli-v1 not sent: the payload does not fit the command's schema\n {2}\(payload\): .+\n$/,
    );
    const json = await runRatchet(['send', 'turnstile', 'cli-v1', 'install', '{"extra":1}', '--json'], appEnv);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: 'error',
      sent: false,
      error: { code: 'VALIDATION_FAILED', details: { issues: [expect.objectContaining({ message: expect.any(String) })] } },
    });
    // Nothing reached a worker: the stream is still empty.
    const history = await runRatchet(['history', 'turnstile', 'cli-v1', '--json'], appEnv);
    expect(JSON.parse(history.stdout)).toEqual([]);
    const ok = await runRatchet(['send', 'turnstile', 'cli-v1', 'install', '--timeout-ms', '20000'], appEnv);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('an aggregate or a command the app does not have is a usage error (exit 2)', async () => {
    const run = await runRatchet(['send', 'elevator', 'e-1', 'call', '--app', TURNSTILE_APP], env);
    expect(run.code).toBe(2);
    expect(isOneLineMessage(run.stderr)).toBe(true);
    expect(run.stderr).toMatch(/unknown aggregate "elevator" \(app turnstile has: turnstile/);
    const history = await runRatchet(['history', 'elevator', 'e-1', '--app', TURNSTILE_APP], env);
    expect(history.code).toBe(2);
    const command = await runRatchet(['send', 'turnstile', 't-1', 'fly', '--app', TURNSTILE_APP], env);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('aggregate turnstile has no command "fly" (it has: install, insertCoin, pushArm');
  });

  it('an app that cannot be loaded is a usage error naming the file', async () => {
    const run = await runRatchet(['send', 'turnstile', 't-1', 'install', '--app', 'no/such/app.ts'], env);
    expect(run.code).toBe(2);
    expect(isOneLineMessage(run.stderr)).toBe(true);
    expect(run.stderr).toMatch(/^ratchet: app module \S+no\/such\/app\.ts: no such file or directory .*\(the app named by --app\)$/m);
  });
});

describe('ratchet failures: exit codes and one-line messages', () => {
  it('without an app, a type no worker serves is sent as typed and answered UNKNOWN_AGGREGATE (exit 1)', async () => {
    const run = await runRatchet(['send', 'elevator', 'e-1', 'call', '--timeout-ms', '5000'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^error UNKNOWN_AGGREGATE: /);
  });

  it('a bad id is a usage error (exit 2), checked before anything is sent', async () => {
    const run = await runRatchet(['send', 'turnstile', 'bad.id', 'install'], { ...env, NATS_URL: 'nats://127.0.0.1:1' });
    expect(run.code).toBe(2);
    expect(isOneLineMessage(run.stderr)).toBe(true);
    expect(run.stderr).toContain('bad id');
  });

  it('a payload that is not JSON is a usage error (exit 2)', async () => {
    const run = await runRatchet(['send', 'turnstile', 't-1', 'install', '{nope'], env);
    expect(run.code).toBe(2);
    expect(isOneLineMessage(run.stderr)).toBe(true);
    expect(run.stderr).toContain('payload is not JSON');
  });

  it('an unknown command or flag is a usage error (exit 2)', async () => {
    expect((await runRatchet(['launch'], env)).code).toBe(2);
    const flag = await runRatchet(['status', '--frobnicate'], env);
    expect(flag.code).toBe(2);
    expect(isOneLineMessage(flag.stderr)).toBe(true);
  });

  it('NATS down: exit 3 and one line naming the URL', async () => {
    const url = `nats://127.0.0.1:${await findFreePort()}`;
    const run = await runRatchet(['send', 'turnstile', 't-1', 'install'], { ...env, NATS_URL: url });
    expect(run.code).toBe(3);
    expect(isOneLineMessage(run.stderr)).toBe(true);
    expect(run.stderr).toContain(`cannot reach NATS at ${url}`);
  });

  it('Postgres down: exit 3 and one line naming the URL without its password', async () => {
    const port = await findFreePort();
    const run = await runRatchet(['history', 'turnstile', 't-1', '--db', `postgres://ratchet:s3cret@127.0.0.1:${port}/ratchet`], env);
    expect(run.code).toBe(3);
    expect(isOneLineMessage(run.stderr)).toBe(true);
    expect(run.stderr).toContain(`cannot reach Postgres at postgres://ratchet:***@127.0.0.1:${port}/ratchet`);
    expect(run.stderr).not.toContain('s3cret');
  });
});
