import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from './exit-code.js';
import { COMMANDS } from './command-table.js';
import { commandHelp, helpText, runCli } from './run-cli.js';

/** Run the CLI in this process with captured output. */
async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: { RATCHET_DATA_DIR: emptyDir, ...env },
  });
  return { code, stdout, stderr };
}

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ratchet-cli-'));
  dirs.push(dir);
  return dir;
};
const emptyDir = tempDir();
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('ratchet help', () => {
  it("answers `<command> --help`, `help <command>` and `--help <command>` with that command's help, exit 0", async () => {
    for (const argv of [
      ['send', '--help'],
      ['help', 'send'],
      ['--help', 'send'],
      ['send', '-h'],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(ExitCode.OK);
      expect(r.stdout).toBe(commandHelp(COMMANDS[0]!));
      expect(r.stdout).toMatch(/^usage: ratchet send <aggregate> <id> <command> \[payload-json\]\n/);
      expect(r.stdout).toContain('--expected-version N');
      expect(r.stdout).toContain('--nats <url>');
    }
    const rebuild = await run(['projections', 'rebuild', '--help']);
    expect(rebuild.stdout).toMatch(/^usage: ratchet projections rebuild <name> --version N\n[\s\S]*--switch/);
  });

  it('prints the global help for --help (exit 0) and for no command (exit 2)', async () => {
    expect(await run(['--help'])).toMatchObject({ code: ExitCode.OK, stdout: helpText() });
    expect(await run([])).toMatchObject({ code: ExitCode.USAGE, stdout: helpText() });
  });

  it('names an unknown flag in one line with the command whose help lists the flags', async () => {
    const r = await run(['send', 'turnstile', 't-1', 'install', '--bogus']);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(r.stderr).toBe('ratchet: unknown flag --bogus for ratchet send (ratchet send --help lists its flags)\n');
    const status = await run(['status', '--frobnicate']);
    expect(status.stderr).toBe('ratchet: unknown flag --frobnicate for ratchet status (ratchet status --help lists its flags)\n');
  });
});

describe('finding the servers of a running demo (.data/demo.json)', () => {
  const demoDir = (state: Record<string, unknown>): string => {
    const dir = tempDir();
    writeFileSync(join(dir, 'demo.json'), JSON.stringify(state));
    return dir;
  };

  it("uses the running demo's NATS and Postgres when neither flag nor env names them, and says so when they do not answer", async () => {
    const port = await closedPort();
    const dir = demoDir({
      pid: process.pid,
      natsUrl: `nats://127.0.0.1:${port}`,
      databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
      partitions: 64,
      distributed: true,
    });
    const send = await run(['send', 'turnstile', 't-1', 'install'], { RATCHET_DATA_DIR: dir });
    expect(send.code).toBe(ExitCode.UNREACHABLE);
    expect(send.stderr).toContain(`cannot reach NATS at nats://127.0.0.1:${port} (from the running demo, ${join(dir, 'demo.json')})`);
    const history = await run(['history', 'turnstile', 't-1'], { RATCHET_DATA_DIR: dir });
    expect(history.code).toBe(ExitCode.UNREACHABLE);
    expect(history.stderr).toContain(`cannot reach Postgres at postgres://postgres@127.0.0.1:${port}/postgres (from the running demo`);
  });

  it('lets --nats and $NATS_URL win over the demo', async () => {
    const port = await closedPort();
    const dir = demoDir({ pid: process.pid, natsUrl: 'nats://127.0.0.1:1', partitions: 64, distributed: true });
    const flag = await run(['send', 'turnstile', 't-1', 'install', '--nats', `nats://127.0.0.1:${port}`], { RATCHET_DATA_DIR: dir });
    expect(flag.stderr).toContain(`cannot reach NATS at nats://127.0.0.1:${port} (--nats)`);
    const env = await run(['send', 'turnstile', 't-1', 'install'], { RATCHET_DATA_DIR: dir, NATS_URL: `nats://127.0.0.1:${port}` });
    expect(env.stderr).toContain(`cannot reach NATS at nats://127.0.0.1:${port} ($NATS_URL)`);
  });

  it('ignores a demo.json whose process is gone', async () => {
    // A pid far above any pid_max in use: no such process.
    const dir = demoDir({
      pid: 2 ** 30,
      natsUrl: 'nats://127.0.0.1:1',
      databaseUrl: 'postgres://x@127.0.0.1:1/x',
      partitions: 64,
      distributed: true,
    });
    const history = await run(['history', 'turnstile', 't-1'], { RATCHET_DATA_DIR: dir });
    expect(history.code).toBe(ExitCode.USAGE);
    expect(history.stderr).toMatch(/^ratchet: no database: pass --db/);
  });

  it("checks commands against the running dev's app only when the CLI talks to that dev's NATS", async () => {
    const port = await closedPort();
    const natsUrl = `nats://127.0.0.1:${port}`;
    const dir = demoDir({ pid: process.pid, natsUrl, app: join(emptyDir, 'gone-app.ts'), partitions: 64, distributed: true });
    // Same NATS (here from the env, as when `ratchet dev` runs on NATS_URL): its app is loaded, and this one is gone.
    const same = await run(['send', 'counter', 'c-1', 'add'], { RATCHET_DATA_DIR: dir, NATS_URL: natsUrl });
    expect(same.code).toBe(ExitCode.USAGE);
    expect(same.stderr).toContain(`gone-app.ts: no such file or directory`);
    expect(same.stderr).toContain(`(the app named by the running app, ${join(dir, 'demo.json')})`);
    // Another NATS: that app says nothing about what is served there; the command goes untyped.
    const other = await run(['send', 'counter', 'c-1', 'add', '--nats', `nats://127.0.0.1:${await closedPort()}`], {
      RATCHET_DATA_DIR: dir,
    });
    expect(other.code).toBe(ExitCode.UNREACHABLE);
    // --app and $RATCHET_APP win over the running app.
    const flag = await run(['send', 'counter', 'c-1', 'add', '--app', 'missing.ts'], { RATCHET_DATA_DIR: dir, NATS_URL: natsUrl });
    expect(flag.stderr).toContain('(the app named by --app)');
    const env = await run(['send', 'counter', 'c-1', 'add'], { RATCHET_DATA_DIR: dir, NATS_URL: natsUrl, RATCHET_APP: 'missing.ts' });
    expect(env.stderr).toContain('(the app named by $RATCHET_APP)');
  });

  it('says when the running demo is embedded (nothing the CLI can reach)', async () => {
    const dir = demoDir({ pid: process.pid, partitions: 64, distributed: false });
    const history = await run(['history', 'turnstile', 't-1'], { RATCHET_DATA_DIR: dir });
    expect(history.code).toBe(ExitCode.USAGE);
    expect(history.stderr).toContain(
      `the running demo (pid ${process.pid}) is embedded: one process with no NATS or Postgres the CLI can reach`,
    );
  });
});
