// The published packages, installed the way a user gets them (issue 13 item 6): every public
// package `npm pack`ed, the tarballs installed with `npm install` into an empty project in a temp
// directory outside this repository (no workspace links, third-party packages from the registry),
// a small aggregate and app written there, type-checked and built against the installed types,
// then `ratchet worker dist/app.js` from the installed CLI against a nats-server of its own and the
// test Postgres, and commands sent to it with `ratchet send`. This checks what a user depends on:
// each package's `exports` (runtime and types), its `dist`, its `files` and its dependencies.
//
// Slow by nature (a build, 26 npm packs, an npm install with the registry): about 20 s here with a
// warm npm cache and the build up to date, a few minutes from cold; bounded by the timeouts below.
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startNatsServer, startServiceProcess, type NatsServerHandle, type ServiceProcess } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packPackages, REPO_ROOT, type PackedPackage } from '../../scripts/pack-packages.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command in the project; never rejects (the exit code is asserted). */
function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
  timeoutMs = 300_000,
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const versionOf = async (manifest: string, name: string): Promise<string> => {
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, manifest), 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const version = pkg.dependencies?.[name] ?? pkg.devDependencies?.[name];
  if (version === undefined) throw new Error(`${manifest} does not list ${name}`);
  return version;
};

// The user's project: an aggregate, an app, and a file that imports every published entry point.
const COUNTER = `import { defineAggregate, reject } from '@ratchet/core';
import { assign, setup } from 'xstate';
import { z } from 'zod';

const added = z.object({ n: z.number().int().positive() });

export const Counter = defineAggregate({
  type: 'counter',
  machine: setup({ types: { context: {} as { total: number }, events: {} as { type: 'added'; data: { n: number } } } }).createMachine({
    id: 'counter',
    context: { total: 0 },
    on: { added: { actions: assign({ total: ({ context, event }) => context.total + event.data.n }) } },
  }),
  commands: { add: added },
  events: { added },
  decide: { add: ({ n }, state) => (state.context.total + n > 100 ? reject('a counter stops at 100') : [{ type: 'added', data: { n } }]) },
});
`;

const APP = `import { defineApp } from '@ratchet/app';
import { Counter } from './counter.js';

export default defineApp({ name: 'counter', aggregates: [Counter] });
`;

/** Type-level checks against the installed declarations: if a package's types were missing or \`any\`, these fail. */
const TYPED = `import type { RatchetClient } from '@ratchet/client';
import { given } from '@ratchet/testing';
import app from './app.js';
import { Counter } from './counter.js';

export async function typed(client: RatchetClient): Promise<void> {
  // @ts-expect-error the counter has no command "sub"
  await client.send(Counter, 'c-1', { type: 'sub', payload: { n: 1 } });
  // @ts-expect-error n must be a number
  await client.send(Counter, 'c-1', { type: 'add', payload: { n: 'one' } });
  given(Counter)([]).when({ type: 'add', payload: { n: 1 } }).then([{ type: 'added', data: { n: 1 } }]);
  const types: readonly string[] = app.aggregates.map((a) => a.type);
  void types;
}
`;

/** Every entry point of every published package but the services' process entries (`./main`). */
async function entryPoints(packed: readonly PackedPackage[]): Promise<string[]> {
  const entries: string[] = [];
  for (const p of packed) {
    const { exports } = JSON.parse(await readFile(join(REPO_ROOT, p.dir, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    for (const key of Object.keys(exports)) if (key !== './main') entries.push(key === '.' ? p.name : `${p.name}${key.slice(1)}`);
  }
  return entries;
}

let work: string;
let project: string;
let packed: PackedPackage[];
let install: Run;
let nats: NatsServerHandle | undefined;
let db: TestDatabase | undefined;
let worker: ServiceProcess | undefined;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ratchet-tarballs-'));
  project = join(work, 'consumer');
  packed = await packPackages({ dest: join(work, 'packs') });
  await mkdir(join(project, 'src'), { recursive: true });
  await writeFile(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'tarball-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  );
  const thirdParty = [
    `zod@${await versionOf('packages/core/package.json', 'zod')}`,
    `xstate@${await versionOf('packages/core/package.json', 'xstate')}`,
    `typescript@${await versionOf('package.json', 'typescript')}`,
    `@types/node@${await versionOf('package.json', '@types/node')}`,
  ];
  install = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((p) => p.tarball), ...thirdParty],
    project,
  );
  // A NATS of its own (a worker in membership mode shares the members bucket with every worker on
  // its server) and a fresh database on the test Postgres; no RATCHET_APP from the caller's environment.
  nats = await startNatsServer();
  db = await createTestDatabase('tarballs');
  env = { NATS_URL: nats.url, DATABASE_URL: db.url, RATCHET_APP: undefined, RATCHET_DATA_DIR: join(work, 'data') };
}, 600_000);

afterAll(async () => {
  await worker?.stop(10_000);
  await db?.drop();
  await nats?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
}, 60_000);

describe('the packed packages, installed outside the repository', () => {
  it('install from their tarballs alone, as real directories (no workspace links)', async () => {
    expect(install.code, install.stderr).toBe(0);
    expect(relative(REPO_ROOT, project).startsWith('..')).toBe(true);
    expect(packed.map((p) => p.name)).toEqual(
      expect.arrayContaining(['@ratchet/core', '@ratchet/app', '@ratchet/cli', '@ratchet/worker-service']),
    );
    for (const p of packed) {
      const dir = join(project, 'node_modules', p.name);
      expect((await lstat(dir)).isSymbolicLink(), p.name).toBe(false);
    }
  });

  it('type-check and build a user project against the installed types, and every entry point loads from dist', async () => {
    const entries = await entryPoints(packed);
    await writeFile(join(project, 'src', 'counter.ts'), COUNTER);
    await writeFile(join(project, 'src', 'app.ts'), APP);
    await writeFile(join(project, 'src', 'typed.ts'), TYPED);
    // One import per entry point: a wrong `types` path is TS7016 under strict, a wrong `default` path a runtime error.
    const imports = entries.map((e, i) => `import * as entry${i} from '${e}';`).join('\n');
    await writeFile(
      join(project, 'src', 'entries.ts'),
      `${imports}\nexport const loaded: Record<string, number> = { ${entries.map((e, i) => `'${e}': Object.keys(entry${i}).length`).join(', ')} };\n`,
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          outDir: 'dist',
          rootDir: 'src',
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['src'],
      }),
    );
    const tsc = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], project);
    expect(tsc.code, `${tsc.stdout}${tsc.stderr}`).toBe(0);
    const load = await run(
      process.execPath,
      ['--input-type=module', '-e', "const { loaded } = await import('./dist/entries.js'); console.log(JSON.stringify(loaded));"],
      project,
    );
    expect(load.code, load.stderr).toBe(0);
    const loaded = JSON.parse(load.stdout) as Record<string, number>;
    expect(Object.keys(loaded).sort()).toEqual([...entries].sort());
    for (const [entry, count] of Object.entries(loaded)) expect(count, `${entry} exports nothing`).toBeGreaterThan(0);
  });

  it('run a worker on the built app with the installed CLI, and take a command from it', async () => {
    worker = await startServiceProcess({
      name: 'ratchet worker (installed)',
      entry: join(project, 'node_modules', '.bin', 'ratchet'),
      args: ['worker', 'dist/app.js'],
      cwd: project,
      env: { ...env, HTTP_PORT: '0', WORKER_ID: 'installed-1', LOG_LEVEL: 'info' },
      readyTimeoutMs: 120_000,
    });
    expect(worker.logs.find((l) => l.msg === 'app loaded')).toMatchObject({ app: 'counter', aggregates: ['counter'] });

    const ratchet = (...args: string[]) => run(process.execPath, [join('node_modules', '.bin', 'ratchet'), ...args], project, env, 120_000);
    const sent = await ratchet('send', 'counter', 'c-1', 'add', '{"n":2}', '--app', 'dist/app.js', '--timeout-ms', '30000');
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/^ok {2}counter\/c-1 at version 1 /);

    // The payload checked by the installed CLI against the app's schema: refused, nothing sent.
    const refused = await ratchet('send', 'counter', 'c-1', 'add', '{"n":-1}', '--app', 'dist/app.js', '--json');
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout)).toMatchObject({ status: 'error', sent: false, error: { code: 'VALIDATION_FAILED' } });

    // The TypeScript source works too: the installed @ratchet/app loads it through tsx.
    const fromSource = await ratchet('send', 'counter', 'c-1', 'add', '{"n":3}', '--app', 'src/app.ts', '--json', '--timeout-ms', '30000');
    expect(fromSource.code, fromSource.stderr).toBe(0);
    expect(JSON.parse(fromSource.stdout)).toMatchObject({ status: 'ok', version: 2 });

    const history = await ratchet('history', 'counter', 'c-1', '--json');
    expect(history.code, history.stderr).toBe(0);
    expect((JSON.parse(history.stdout) as Array<{ data: unknown }>).map((e) => e.data)).toEqual([{ n: 2 }, { n: 3 }]);

    expect(await worker.stop(15_000)).toBe(0);
    expect(worker.logs.some((l) => l.msg === 'drained; exiting')).toBe(true);
  });
});
