import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from './process-alive.js';
import { waitFor } from './wait-for.js';

/** Options of {@link startServiceProcess}. */
export interface ServiceProcessOptions {
  /** Path of the TypeScript entry point (run with tsx and the "source" export condition). */
  readonly entry: string;
  /** Environment added to the parent's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The pino `msg` that says the process is ready. Default 'worker ready'. */
  readonly readyMessage?: string;
  /** How long to wait for readiness (ms). Default 30,000. */
  readonly readyTimeoutMs?: number;
  /** Echo the child's logs to this process's stderr. Default false (kept in `logs`). */
  readonly echo?: boolean;
}

/** A running service process (worker, projector…) started for a test. */
export interface ServiceProcess {
  readonly pid: number;
  /** Fields of the ready log line (e.g. httpPort). */
  readonly ready: Readonly<Record<string, unknown>>;
  /** Every JSON log line so far. */
  readonly logs: ReadonlyArray<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name) when the process exits. */
  readonly exited: Promise<number | string>;
  /** Send a signal by pid. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, wait for exit (SIGKILL past the deadline); resolves with the exit code or signal. */
  stop(deadlineMs?: number): Promise<number | string>;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Start a Ratchet service as a real child process and wait until it logs that it is ready.
 * Always `stop()` it in teardown (the handle kills by pid).
 */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', options.entry],
    { cwd: repoRoot, env: { ...process.env, RATCHET_EXIT_WITH_PARENT: 'true', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.entry}`);
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  let exitValue: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitValue = code ?? signal ?? 'unknown';
      resolve(exitValue);
    });
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (options.echo) process.stderr.write(`[${pid}] ${line}\n`);
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ msg: line });
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    if (options.echo) process.stderr.write(`[${pid}!] ${line}\n`);
  });
  const readyMessage = options.readyMessage ?? 'worker ready';
  const handle: ServiceProcess = {
    pid,
    ready: {},
    logs,
    exited,
    kill: (signal) => {
      if (isProcessAlive(pid)) process.kill(pid, signal);
    },
    async stop(deadlineMs = 15_000) {
      if (exitValue !== undefined) return exitValue;
      handle.kill('SIGTERM');
      const timer = setTimeout(() => handle.kill('SIGKILL'), deadlineMs);
      const value = await exited;
      clearTimeout(timer);
      return value;
    },
  };
  try {
    const ready = await waitFor(async () => logs.find((l) => l['msg'] === readyMessage), {
      what: `${options.entry} to log "${readyMessage}"`,
      timeoutMs: options.readyTimeoutMs ?? 30_000,
      abortIf: () => {
        if (exitValue !== undefined) {
          const tail = [...logs.slice(-5).map((l) => JSON.stringify(l)), ...stderr.slice(-10)].join('\n');
          throw new Error(`${options.entry} exited with ${exitValue} before it was ready:\n${tail}`);
        }
      },
    });
    (handle as { ready: Record<string, unknown> }).ready = ready;
  } catch (error) {
    handle.kill('SIGKILL');
    await exited;
    throw error;
  }
  return handle;
}
