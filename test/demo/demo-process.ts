// Runs `npm run demo` (the demo's entry point) as a child process for the demo tests, and keeps
// the pids of the processes it starts so teardown can stop them even if the demo dies.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isProcessAlive, waitFor } from '@ratchet/launchers';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A running demo process. */
export interface DemoProcess {
  readonly pid: number;
  /** Lines on stdout so far. */
  readonly stdout: readonly string[];
  /** Pino lines on stderr so far (parsed). */
  readonly logs: ReadonlyArray<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  /** Wait for a stdout line matching `pattern`; resolves with the match. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM the demo (it stops what it started); then SIGKILL anything it left behind, by pid. */
  stop(): Promise<void>;
}

/**
 * Start the demo with these arguments and the servers given in `env`. Its data directory (logs,
 * demo.json) is a temp dir of its own unless `env` names one, so a test's demo is never the one a
 * developer's `ratchet` finds in the repo's .data.
 */
export function startDemo(args: readonly string[], env: Record<string, string>): DemoProcess {
  const dataDir = env.RATCHET_DATA_DIR === undefined ? mkdtempSync(join(tmpdir(), 'ratchet-demo-')) : undefined;
  // Postgres (when the demo starts one) runs as its own OS user under root: it must enter the dir.
  if (dataDir !== undefined) chmodSync(dataDir, 0o755);
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'services/demo/src/main.ts', ...args], {
    cwd: root,
    // The gateway on any free port (not 8082): demos of several test files run at once.
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      RATCHET_GATEWAY_PORT: '0',
      ...(dataDir === undefined ? {} : { RATCHET_DATA_DIR: dataDir }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid!;
  const stdout: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  let exitValue: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      exitValue = code ?? signal ?? 'unknown';
      resolve(exitValue);
    }),
  );
  createInterface({ input: child.stdout! }).on('line', (l) => stdout.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => {
    stderr.push(l);
    try {
      logs.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // a warning line
    }
  });
  const childPids = (): number[] =>
    logs.filter((l) => typeof l.msg === 'string' && / ready$/.test(l.msg) && typeof l.pid === 'number').map((l) => l.pid as number);
  return {
    pid,
    stdout,
    logs,
    exited,
    line: (pattern, timeoutMs = 90_000) =>
      waitFor(
        async () => {
          for (const l of stdout) {
            const m = pattern.exec(l);
            if (m) return m;
          }
          return undefined;
        },
        {
          what: `demo stdout to match ${pattern}`,
          timeoutMs,
          abortIf: () => {
            if (exitValue !== undefined) throw new Error(`demo exited with ${exitValue}:\n${stderr.slice(-15).join('\n')}`);
          },
        },
      ),
    async stop() {
      if (exitValue === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
        await exited;
        clearTimeout(timer);
      }
      for (const p of childPids()) if (isProcessAlive(p)) process.kill(p, 'SIGKILL');
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
