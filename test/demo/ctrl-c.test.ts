// A new user's first minutes, on a real terminal: `npm run demo` on a pseudo-terminal (so the
// demo sees a TTY, and Ctrl-C is the ^C byte the terminal turns into SIGINT for its foreground
// process group), the CLI finding the running demo with no flags, then ^C. The terminal must show
// only the demo's lines (no JSON, no error, no stack trace), the workers and the projector must
// drain before the servers stop, and no process the demo started may be left.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable, waitFor } from '@ratchet/launchers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRatchet } from '../cli/run-ratchet.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PTY = fileURLToPath(new URL('./run-in-pty.py', import.meta.url));

/** A process seen in /proc: its pid and start time (a reused pid has another). */
interface Seen {
  readonly pid: number;
  readonly start: string;
  readonly command: string;
}

function stat(pid: number): { ppid: number; start: string; command: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return { ppid: Number(fields[1]), start: fields[19]!, command: text.slice(text.indexOf('(') + 1, close) };
  } catch {
    return undefined;
  }
}

/** `pid` and every process below it, from /proc. */
function processTree(pid: number): Seen[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s !== undefined) children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(entry)]);
  }
  const seen: Seen[] = [];
  const walk = (p: number): void => {
    const s = stat(p);
    if (s === undefined) return;
    seen.push({ pid: p, start: s.start, command: s.command });
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return seen;
}

const stillRunning = (seen: readonly Seen[]): Seen[] => seen.filter((p) => stat(p.pid)?.start === p.start);

type LogLine = { level: number; time: number; msg: string; [key: string]: unknown };
function logLines(file: string): LogLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** `npm run demo` on a pseudo-terminal, its own data directory, servers started from the binaries. */
interface TerminalDemo {
  readonly pty: ChildProcess;
  readonly dataDir: string;
  /** Everything the terminal showed so far. */
  transcript(): string;
  /** The pty helper's exit code, once it exited. */
  exitCode(): number | null | undefined;
  readonly exited: Promise<number | null>;
}

const demos: TerminalDemo[] = [];
const everyStarted: Seen[] = [];

async function startOnTerminal(): Promise<{ demo: TerminalDemo; started: Seen[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ratchet-ctrl-c-'));
  // Postgres runs as its own OS user when the test runs as root: it must be able to enter.
  chmodSync(dataDir, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, RATCHET_DATA_DIR: dataDir, RATCHET_DEMO_INFRA: 'servers', TERM: 'xterm' };
  // The demo starts its own nats-server and Postgres from the binaries, in its own data directory.
  delete env.NATS_URL;
  delete env.DATABASE_URL;
  const pty = spawn(
    'python3',
    [
      PTY,
      'npm',
      'run',
      'demo',
      '--',
      '--port',
      '0',
      '--gateway-port',
      '0',
      '--turnstiles',
      '100',
      '--riders',
      '4',
      '--rate',
      '40',
      '--workers',
      '2',
    ],
    {
      cwd: root,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let transcript = '';
  let exitCode: number | null | undefined;
  pty.stdout!.on('data', (d: Buffer) => (transcript += d.toString()));
  pty.stderr!.on('data', (d: Buffer) => (transcript += d.toString()));
  const exited = new Promise<number | null>((resolve) => pty.once('exit', (code) => resolve((exitCode = code))));
  const demo: TerminalDemo = { pty, dataDir, transcript: () => transcript, exitCode: () => exitCode, exited };
  demos.push(demo);
  await waitFor(async () => transcript.includes('Ctrl-C stops everything.'), {
    what: 'the demo to say it runs',
    timeoutMs: 180_000,
    intervalMs: 200,
    abortIf: () => {
      if (exitCode !== undefined) throw new Error(`the demo exited (${exitCode}):\n${transcript}`);
    },
  });
  const started = processTree(pty.pid!);
  everyStarted.push(...started);
  expect(started.map((p) => p.command)).toEqual(expect.arrayContaining(['nats-server', 'postgres']));
  return { demo, started };
}

/** Every process the demo started is gone (each checked by pid and start time). */
async function expectAllGone(started: readonly Seen[]): Promise<void> {
  await waitFor(async () => stillRunning(started).length === 0, {
    what: 'every process the demo started to be gone',
    timeoutMs: 30_000,
  }).catch(() => undefined);
  expect(stillRunning(started).map((p) => `${p.pid} ${p.command}`)).toEqual([]);
}

/** The workers, the projector and the dashboard drained cleanly, and before the servers were told to stop. */
function expectDrainedBeforeServers(dataDir: string): void {
  const logs = join(dataDir, 'logs');
  const serversStopping = logLines(join(logs, 'demo.log')).find((l) => l.msg === 'stopping the servers the demo started');
  expect(serversStopping, 'demo.log has no "stopping the servers" line').toBeDefined();
  for (const service of ['demo-worker-1', 'demo-worker-2', 'projector', 'dashboard', 'gateway']) {
    const lines = logLines(join(logs, `${service}.log`));
    const drained = lines.find((l) => l.msg === 'drained; exiting');
    expect(drained, `${service} did not drain`).toBeDefined();
    expect(drained!.time, `${service} drained after the servers were stopping`).toBeLessThanOrEqual(serversStopping!.time);
    const problems = lines.filter((l) => l.level >= 40 || /Postgres unavailable|ECONNREFUSED|drain failed/.test(JSON.stringify(l)));
    expect(
      problems.map((l) => l.msg),
      service,
    ).toEqual([]);
  }
}

describe('npm run demo on a terminal', () => {
  beforeAll(() => {
    if (findExecutable('python3') === undefined) throw new Error('python3 is needed for a pseudo-terminal (apt-get install python3)');
  });

  afterAll(async () => {
    // Whatever the assertions said: nothing the demos started may outlive the test.
    for (const demo of demos) if (demo.pty.exitCode === null && demo.pty.signalCode === null) demo.pty.kill('SIGKILL');
    for (const p of stillRunning(everyStarted)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    for (const demo of demos) rmSync(demo.dataDir, { recursive: true, force: true });
  }, 60_000);

  it('shows only its own lines, lets the CLI find it, and stops everything on ^C, servers last', { timeout: 300_000 }, async () => {
    const { demo, started } = await startOnTerminal();
    const { dataDir } = demo;

    // The CLI finds the demo's servers through demo.json: no flags, no env.
    const state = JSON.parse(readFileSync(join(dataDir, 'demo.json'), 'utf8')) as {
      natsUrl: string;
      databaseUrl: string;
      dashboardUrl: string;
    };
    expect(demo.transcript()).toContain(`NATS: ${state.natsUrl}  Postgres: ${state.databaseUrl}`);
    expect(demo.transcript()).toContain(`Dashboard: ${state.dashboardUrl}`);
    const cliEnv = { RATCHET_DATA_DIR: dataDir, NATS_URL: undefined, DATABASE_URL: undefined };
    const sent = await runRatchet(['send', 'turnstile', 'first-minutes-1', 'install'], cliEnv);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/^ok {2}turnstile\/first-minutes-1 at version 1 /);
    const history = await runRatchet(['history', 'turnstile', 'first-minutes-1'], cliEnv);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/^1\s+installed\s+\{\}/m);

    // Ctrl-C, as typed.
    demo.pty.stdin!.write('\x03');
    await Promise.race([
      demo.exited,
      waitFor(async () => false, { what: 'the demo to stop after ^C', timeoutMs: 90_000 }).catch(() => undefined),
    ]);
    const transcript = demo.transcript();
    // The demo exits 0 ("Demo stopped."); npm, having forwarded the SIGINT, then ends itself with it (130).
    expect([0, 130], transcript).toContain(demo.exitCode());
    expect(transcript).toMatch(/Demo stopped\.\s*$/);

    // Nothing the demo started is left: workers, projector, dashboard, nats-server, Postgres and its backends.
    await expectAllGone(started);
    expect(existsSync(join(dataDir, 'demo.json'))).toBe(false);

    // The terminal: npm's two lines, the demo's, ^C, and the stop lines. No JSON, no error, no stack.
    const lines = transcript
      .replace(/\r/g, '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const expected = [
      /^> (ratchet@\S* )?demo$/,
      /^> node --conditions=source --import tsx packages\/cli\/src\/main\.ts dev /,
      /^Ratchet turnstile demo: 2 workers, a projector, 100 turnstiles, 4 riders at 40 commands\/s$/,
      /^Dashboard: http:\/\/127\.0\.0\.1:\d+\/$/,
      /^Gateway: http:\/\/127\.0\.0\.1:\d+\/ {2}\(POST \/commands\/<type>\/<id>, GET \/openapi\.json\)$/,
      /^NATS: nats:\/\/127\.0\.0\.1:\d+ {2}Postgres: postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/,
      /^Try: npx ratchet send turnstile t-1 install/,
      /^Logs: .*\. Ctrl-C stops everything\.$/,
      /^\^C(Stopping: .*)?$/,
      /^Stopping: the riders, the gateway, the dashboard and the projector, then the workers \(they drain\), then the servers\./,
      /^Demo stopped\.$/,
    ];
    const unexpected = lines.filter((l) => !expected.some((re) => re.test(l)));
    expect(unexpected, transcript).toEqual([]);
    expect(transcript).not.toMatch(/error|warning|ECONNREFUSED|\bat .+:\d+:\d+|^\{/im);

    expectDrainedBeforeServers(dataDir);
  });

  it('stops everything the same way when the terminal is closed (SIGHUP)', { timeout: 300_000 }, async () => {
    const { demo, started } = await startOnTerminal();
    // The terminal window closes: its master side goes away, and the kernel hangs the session up.
    demo.pty.kill('SIGKILL');
    await expectAllGone(started);
    expect(existsSync(join(demo.dataDir, 'demo.json'))).toBe(false);
    expect(
      logLines(join(demo.dataDir, 'logs', 'demo.log')).find(
        (l) => l.msg === 'stopping: riders, dashboard, projector, workers (drain), then the servers; again to kill the children at once',
      ),
    ).toMatchObject({
      signal: 'SIGHUP',
    });
    expectDrainedBeforeServers(demo.dataDir);
  });
});
