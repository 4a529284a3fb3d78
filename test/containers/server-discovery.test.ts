// The third tier of server discovery (env URLs → binaries → containers when Docker answers): with
// the binaries hidden in a mount namespace and no DATABASE_URL / NATS_URL, ensureServers() runs
// Postgres and nats-server in containers (testcontainers, host network), and removes them on
// teardown. Also the container launchers on their own. Needs Docker and root: `npm run test:deploy`.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  chooseContainerImage,
  findExecutable,
  startNatsContainer,
  startPostgresContainer,
  type ContainerServerHandle,
} from '@ratchet/launchers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, requireDocker } from './docker-cli.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const started: ContainerServerHandle[] = [];

beforeAll(async () => {
  await requireDocker();
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

async function containerExists(id: string): Promise<boolean> {
  return (await docker(['ps', '-aq', '--no-trunc', '--filter', `id=${id}`])).trim() !== '';
}

describe('container launchers', () => {
  it('run Postgres and nats-server with JetStream on 127.0.0.1, and remove them on stop', async () => {
    const [postgres, nats] = await Promise.all([startPostgresContainer(), startNatsContainer()]);
    started.push(postgres, nats);
    console.log(`[tier] ${postgres.url} in ${postgres.image}, ${nats.url} in ${nats.image}`);
    expect(postgres.image).toBe(await chooseContainerImage('postgres'));
    expect(postgres.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);

    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    await client.end();
    const nc = await connect({ servers: nats.url });
    const js = await jetstreamManager(nc);
    await js.streams.add({ name: 'TIER', subjects: ['tier.>'] });
    expect((await js.streams.info('TIER')).config.name).toBe('TIER');
    await nc.close();

    await Promise.all([postgres.stop(), nats.stop()]);
    expect(await containerExists(postgres.containerId)).toBe(false);
    expect(await containerExists(nats.containerId)).toBe(false);
  });
});

describe('ensureServers, third tier', () => {
  it('uses containers when the binaries are missing and Docker answers, and removes them at teardown', async () => {
    expect(process.getuid?.(), 'hiding the binaries takes a mount namespace: run as root').toBe(0);
    const empty = await mkdtemp(join(tmpdir(), 'ratchet-hidden-'));
    try {
      // Every place the launchers look: PATH and Debian's directories. /dev/null over a binary
      // makes it non-executable; an empty dir over /usr/lib/postgresql hides Postgres' bindir.
      const hide = ['nats-server', 'postgres', 'initdb', 'pg_config', 'pg_ctl']
        .flatMap((name) =>
          ['', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/usr/bin'].map((dir) =>
            dir === '' ? findExecutable(name) : findExecutable(name, [dir]),
          ),
        )
        .filter((p): p is string => p !== undefined);
      const mounts = [...new Set(hide)].map((p) => `mount --bind /dev/null '${p}'`);
      mounts.push(`mount --bind '${empty}' /usr/lib/postgresql 2>/dev/null || true`);
      const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
      delete env.DATABASE_URL;
      delete env.NATS_URL;
      const script = `${mounts.join(' && ')} && exec node --conditions=source --import tsx test/containers/discover-servers.ts`;
      const { stdout, stderr } = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
        cwd: ROOT,
        env,
        timeout: 300_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      console.log(`[tier] ${stderr.trim()}`);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      expect(line, stdout + stderr).toBeDefined();
      const result = JSON.parse(line!.slice('RESULT '.length)) as {
        binaries: { postgres: string; nats: string };
        summary: string;
        answers: { postgres: string; jetstream: boolean };
        databaseUrl: string;
        natsUrl: string;
      };
      expect(result.binaries).toEqual({ postgres: 'NOT_FOUND', nats: 'NOT_FOUND' });
      expect(result.summary).toMatch(/Postgres postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres \(started in a container of \S+/);
      expect(result.summary).toMatch(/NATS nats:\/\/127\.0\.0\.1:\d+ \(started in a container of \S+/);
      expect(result.answers.postgres).toMatch(/^PostgreSQL /);
      expect(result.answers.jetstream).toBe(true);
      // Teardown removed both containers (named ratchet-<kind>-<port>-<pid>).
      for (const [kind, url] of [
        ['postgres', result.databaseUrl],
        ['nats', result.natsUrl],
      ] as const) {
        const port = /:(\d+)(\/|$)/.exec(url.replace(/^\w+:\/\//, ''))![1]!;
        expect((await docker(['ps', '-aq', '--filter', `name=ratchet-${kind}-${port}-`])).trim(), kind).toBe('');
      }
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
