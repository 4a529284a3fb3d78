// docs/your-first-app.md, run as printed (issue 13 item 7): its files are written from its code
// blocks, its commands run in order in one working directory the way a reader's shell would (the
// `cd`s carry over), and the output it shows is checked against what they print (doc-steps.ts has
// the conventions). The reader's layout is rebuilt in a temp directory: the Ratchet checkout as
// `ratchet` (a link to this repository) and `hello-ratchet` made beside it by the page itself, so
// the packages come from `npm run pack` tarballs, not workspace links.
//
// One rewrite, the only one: the page's gateway and dashboard addresses (ports 8082 and 8090) become
// free ports, given to `ratchet dev` through RATCHET_GATEWAY_PORT and RATCHET_DASHBOARD_PORT, since
// other tests run beside this one. `ratchet dev` runs on NATS_URL (a nats-server of the test's own)
// and DATABASE_URL (a fresh database), the first of the servers the page says it uses.
//
// About a minute and a half here (a build and pack, three npm installs from the registry, three
// workers); bounded by the timeouts below.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findExecutable, findFreePort, startNatsServer, waitFor, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/pack-packages.js';
import { docSteps, missingLine, type DocStep } from './doc-steps.js';

const PAGE = 'docs/your-first-app.md';

/** A command of the page, running or finished. */
interface Shell {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** The exit code, or the signal that ended it. */
  readonly exited: Promise<number | string>;
}

let work: string;
let nats: NatsServerHandle | undefined;
let db: TestDatabase | undefined;
let env: NodeJS.ProcessEnv;
let rewrite: (text: string) => string;
let background: Shell | undefined;

/** Run a script with bash in `cwd`, its own process group when `detached` (so SIGINT to it is a Ctrl-C). */
function shell(script: string, cwd: string, detached: boolean): Shell {
  const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached });
  const s: Shell = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))),
  };
  child.stdout!.on('data', (d: Buffer) => (s.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (s.stderr += d.toString()));
  return s;
}

/** What a failed step says: the commands and everything they printed. */
const report = (what: string, script: string, s: Shell): string =>
  `${what}\n$ ${script.replace(/\n/g, '\n$ ')}\n--- stdout ---\n${s.stdout}\n--- stderr ---\n${s.stderr.slice(-4_000)}`;

function expectOutput(step: DocStep, s: Shell, script: string): void {
  if (step.kind === 'file' || step.output === undefined) return;
  const missing = missingLine(step.output.map(rewrite), s.stdout);
  expect(missing, report(`the output the page shows has a line the command did not print: ${missing}`, script, s)).toBeUndefined();
}

beforeAll(async () => {
  for (const tool of ['bash', 'curl', 'npm']) if (findExecutable(tool) === undefined) throw new Error(`${PAGE} needs ${tool} on PATH`);
  work = await mkdtemp(join(tmpdir(), 'ratchet-first-app-'));
  await chmod(work, 0o755);
  await symlink(REPO_ROOT, join(work, 'ratchet'));
  nats = await startNatsServer();
  db = await createTestDatabase('first_app');
  const gatewayPort = await findFreePort();
  const dashboardPort = await findFreePort();
  env = {
    ...process.env,
    NATS_URL: nats.url,
    DATABASE_URL: db.url,
    RATCHET_GATEWAY_PORT: String(gatewayPort),
    RATCHET_DASHBOARD_PORT: String(dashboardPort),
    NO_COLOR: '1',
  };
  for (const name of ['FORCE_COLOR', 'RATCHET_APP', 'RATCHET_DATA_DIR', 'RATCHET_DEBUG']) delete env[name];
  rewrite = (text) =>
    text.replaceAll('127.0.0.1:8082', `127.0.0.1:${gatewayPort}`).replaceAll('127.0.0.1:8090', `127.0.0.1:${dashboardPort}`);
}, 120_000);

afterAll(async () => {
  // Whatever happened: nothing the page started may outlive the test.
  const running = background?.child;
  if (running?.pid !== undefined && running.exitCode === null && running.signalCode === null) {
    try {
      process.kill(-running.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  await db?.drop();
  await nats?.stop();
  if (work !== undefined) {
    await unlink(join(work, 'ratchet')).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}, 60_000);

describe(PAGE, () => {
  it('runs as printed: every file, every command, the output it shows', { timeout: 900_000 }, async () => {
    const steps = docSteps(await readFile(join(REPO_ROOT, PAGE), 'utf8'));
    expect(steps.filter((s) => s.kind === 'run').length).toBeGreaterThan(10);
    const cwdFile = join(work, '.cwd');
    let cwd = work;
    for (const step of steps) {
      if (step.kind === 'file') {
        // Saved as a reader's editor would, in the directory the page is in by now.
        await mkdir(dirname(join(cwd, step.path)), { recursive: true });
        await writeFile(join(cwd, step.path), step.content);
      } else if (step.kind === 'ctrl-c') {
        const running = background;
        expect(running, 'the page says Ctrl-C with nothing running').toBeDefined();
        process.kill(-running!.child.pid!, 'SIGINT');
        const code = await Promise.race([running!.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 90_000))]);
        // npm (npx) forwards the SIGINT its child got from the terminal too and exits 130, and bash,
        // interrupted while it waited, ends by the same signal: what counts is that it drained.
        expect([0, 130, 'SIGINT'], report('Ctrl-C did not stop it', 'Ctrl-C', running!)).toContain(code);
        expect(running!.stdout + running!.stderr, report('it did not drain', 'Ctrl-C', running!)).toMatch(
          /Ratchet dev stopped\.|"msg":"drained; exiting"/,
        );
        expectOutput(step, running!, 'Ctrl-C');
        background = undefined;
      } else if (step.until !== undefined) {
        const script = rewrite(step.script);
        const s = shell(script, cwd, true);
        background = s;
        await waitFor(async () => (s.stdout + s.stderr).includes(step.until!), {
          what: `"${step.until}" from ${script}`,
          timeoutMs: 240_000,
          intervalMs: 200,
          abortIf: () => {
            if (s.child.exitCode !== null) throw new Error(report(`it exited with ${s.child.exitCode}`, script, s));
          },
        });
        expectOutput(step, s, script);
      } else {
        const script = rewrite(step.script);
        const s = shell(`trap 'pwd > "${cwdFile}"' EXIT\nset -e\n${script}\n`, cwd, false);
        const code = await Promise.race([s.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 600_000))]);
        if (code === 'hung') s.child.kill('SIGKILL');
        expect(code, report(`exit code ${code}, the page says ${step.exit}`, script, s)).toBe(step.exit);
        cwd = (await readFile(cwdFile, 'utf8')).trim();
        expectOutput(step, s, script);
      }
    }
    expect(background, 'the page leaves a command running').toBeUndefined();
  });
});
