// `ratchet history --version/--at` (time travel) and `ratchet forget`, run in this process against
// a fresh database: the state after each event as the turnstile app folds it, OUT_OF_RANGE outside
// the stream, sealed values opened with $RATCHET_MASTER_KEY (a wrong key: a typed error, exit 1),
// and after `ratchet forget` their placeholder.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineAggregate, sensitive } from '@ratchet/core';
import { createPostgresEventStore, parseMasterKey, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { z } from 'zod';
import { runCli } from '../run-cli.js';

const TURNSTILE_APP = 'packages/turnstile-app/src/app.ts';
const KEY = randomBytes(32).toString('base64');
const Member = defineAggregate({
  type: 'member',
  machine: createMachine({ id: 'member' }),
  commands: {},
  events: { joined: z.object({ email: sensitive(z.string(), { subject: (_d, where) => where.aggregateId }) }) },
  decide: {},
});

let db: TestDatabase;
let store: PostgresEventStore;
const dataDir = mkdtempSync(join(tmpdir(), 'ratchet-history-'));

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...argv, '--db', db.url], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: { RATCHET_DATA_DIR: dataDir, ...env },
  });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  db = await createTestDatabase('cli_history');
  store = createPostgresEventStore({ connectionString: db.url, masterKey: parseMasterKey(KEY) });
  await store.migrate();
  const types = ['installed', 'coinInserted', 'armTurned', 'armPushedIneffectively'];
  for (const [i, type] of types.entries()) await store.append('turnstile/h-1', i, [{ type, data: {} }]);
  await store.append(
    'member/m-1',
    0,
    await store.cipher.sealEvents(Member, 'member/m-1', [{ type: 'joined', data: { email: 'ann@example.com' } }]),
  );
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('ratchet history --version / --at', () => {
  it('prints each event with the state after it, then the state there', async () => {
    const run2 = await run(['history', 'turnstile', 'h-1', '--version', '3', '--app', TURNSTILE_APP]);
    expect(run2.code, run2.stderr).toBe(0);
    const lines = run2.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERSION\s+TYPE\s+DATA\s+STATE\s+CONTEXT\s+RECORDED AT$/);
    expect(lines.slice(1, 4).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['1', 'installed', '{}', 'locked'],
      ['2', 'coinInserted', '{}', 'unlocked'],
      ['3', 'armTurned', '{}', 'locked'],
    ]);
    expect(lines[4]).toMatch(/^turnstile\/h-1 at version 3 of 4 \(.+\): locked \{"coins":1,"turns":1,"pushes":1\}$/);

    const json = await run(['history', 'turnstile', 'h-1', '--version', '2', '--json', '--app', TURNSTILE_APP]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      streamId: 'turnstile/h-1',
      version: 2,
      head: 4,
      value: 'unlocked',
      context: { coins: 1, turns: 0, pushes: 0 },
      events: [
        { version: 1, state: { value: 'locked' } },
        { version: 2, state: { value: 'unlocked' } },
      ],
    });
  });

  it('takes a time: the events recorded by then', async () => {
    const [, second] = await store.readStream('turnstile/h-1');
    const atRun = await run(['history', 'turnstile', 'h-1', '--at', second!.recordedAt.toISOString(), '--json', '--app', TURNSTILE_APP]);
    expect(atRun.code, atRun.stderr).toBe(0);
    expect((JSON.parse(atRun.stdout) as { version: number }).version).toBeGreaterThanOrEqual(2);
  });

  it('says OUT_OF_RANGE (exit 1) outside the stream, and refuses bad or missing flags and a missing app (exit 2)', async () => {
    const out = await run(['history', 'turnstile', 'h-1', '--version', '9', '--app', TURNSTILE_APP]);
    expect(out).toMatchObject({ code: 1, stdout: '' });
    expect(out.stderr).toMatch(/^ratchet: OUT_OF_RANGE: turnstile\/h-1: version 9 is outside its history \(1\.\.4\)\n$/);
    expect((await run(['history', 'turnstile', 'h-1', '--at', '2001-01-01T00:00:00Z', '--app', TURNSTILE_APP])).stderr).toMatch(
      /OUT_OF_RANGE: .*before its first event/,
    );
    expect((await run(['history', 'turnstile', 'h-1', '--version', '0', '--app', TURNSTILE_APP])).code).toBe(2);
    expect((await run(['history', 'turnstile', 'h-1', '--at', 'yesterday', '--app', TURNSTILE_APP])).code).toBe(2);
    expect(
      (await run(['history', 'turnstile', 'h-1', '--at', '2026-01-01T00:00:00Z', '--version', '1', '--app', TURNSTILE_APP])).code,
    ).toBe(2);
    const noApp = await run(['history', 'turnstile', 'h-1', '--version', '1']);
    expect(noApp.code).toBe(2);
    expect(noApp.stderr).toMatch(/needs the app/);
  });
});

describe('sensitive values in ratchet history, and ratchet forget', () => {
  it('opens them with the master key, fails typed with another, and shows the placeholder after a forget', async () => {
    const plain = await run(['history', 'member', 'm-1', '--json'], { RATCHET_MASTER_KEY: KEY });
    expect(plain.code, plain.stderr).toBe(0);
    expect((JSON.parse(plain.stdout) as Array<{ data: unknown }>)[0]!.data).toEqual({ email: 'ann@example.com' });

    const wrong = await run(['history', 'member', 'm-1'], { RATCHET_MASTER_KEY: randomBytes(32).toString('hex') });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /^ratchet: SENSITIVE_DATA_UNREADABLE: the key of subject "m-1" is wrapped by master:[0-9a-f]{16}, not by the configured master:[0-9a-f]{16}\n$/,
    );
    expect((await run(['history', 'member', 'm-1'], { RATCHET_MASTER_KEY: 'not-a-key' })).code).toBe(2);

    const forgot = await run(['forget', 'm-1']);
    expect(forgot.code, forgot.stderr).toBe(0);
    expect(forgot.stdout).toMatch(/^forgot m-1: its key is deleted/);
    for (const env of [{ RATCHET_MASTER_KEY: KEY }, {}] as Array<Record<string, string>>) {
      const after = await run(['history', 'member', 'm-1'], env);
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout).toMatch(/\{"email":"\[forgotten\]"\}/);
      expect(after.stdout).not.toContain('ann@example.com');
    }
  });
});
