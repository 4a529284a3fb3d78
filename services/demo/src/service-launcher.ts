import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** Options of {@link launchService}. */
export interface LaunchServiceOptions {
  /** Short name for logs, e.g. `worker-2`. */
  readonly name: string;
  /** Absolute path of the TypeScript entry point. */
  readonly entry: string;
  /** Environment added to this process's. */
  readonly env: Readonly<Record<string, string>>;
  /** The pino `msg` that says the process is ready. */
  readonly readyMessage: string;
  /** File the child's stdout and stderr are appended to. */
  readonly logFile: string;
  /** Working directory (the repo root). */
  readonly cwd: string;
  /** How long to wait for readiness, in ms. Default 60,000. */
  readonly readyTimeoutMs?: number;
}

/** A service process the demo started. */
export interface ServiceHandle {
  readonly name: string;
  readonly pid: number;
  /** Fields of the ready log line (httpPort…). */
  readonly ready: Readonly<Record<string, unknown>>;
  readonly logFile: string;
  /** Resolves with the exit code or signal name. */
  readonly exited: Promise<number | string>;
  /** Whether the process has exited. */
  readonly alive: boolean;
  /** Send a signal by pid (no-op once exited). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `deadlineMs`; resolves with the exit code or signal. */
  stop(deadlineMs?: number): Promise<number | string>;
}

/**
 * Start a Ratchet service as a child process with its logs going to a file, and wait for its ready
 * line. The child gets its own process group, so a Ctrl-C in the terminal reaches only the demo,
 * which then drains its children in order.
 */
export async function launchService(options: LaunchServiceOptions): Promise<ServiceHandle> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', options.entry], {
    cwd: options.cwd,
    env: { ...process.env, RATCHET_EXIT_WITH_PARENT: 'true', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.name} (${options.entry})`);
  const file = createWriteStream(options.logFile, { flags: 'a' });
  file.on('error', () => undefined); // a lost log file must not take the demo down
  let exitValue: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitValue = code ?? signal ?? 'unknown';
      resolve(exitValue);
    });
  });
  const tail: string[] = [];
  let onReady: ((fields: Record<string, unknown>) => void) | undefined;
  const watch = (line: string): void => {
    file.write(`${line}\n`);
    tail.push(line);
    if (tail.length > 20) tail.shift();
    if (onReady === undefined || !line.includes(options.readyMessage)) return;
    try {
      const fields = JSON.parse(line) as Record<string, unknown>;
      if (fields['msg'] === options.readyMessage) onReady(fields);
    } catch {
      // not a JSON log line
    }
  };
  createInterface({ input: child.stdout! }).on('line', watch);
  createInterface({ input: child.stderr! }).on('line', watch);
  const handle: ServiceHandle = {
    name: options.name,
    pid,
    ready: {},
    logFile: options.logFile,
    exited,
    get alive() {
      return exitValue === undefined;
    },
    kill(signal) {
      if (exitValue !== undefined) return;
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
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
  void exited.then(() => file.end());
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  try {
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${options.name} did not log "${options.readyMessage}" within ${timeoutMs} ms`)), timeoutMs);
      onReady = (fields) => {
        clearTimeout(timer);
        resolve(fields);
      };
      void exited.then((value) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited with ${value} before it was ready; last lines (${options.logFile}):\n${tail.slice(-8).join('\n')}`));
      });
    });
    onReady = undefined;
    (handle as { ready: Record<string, unknown> }).ready = ready;
  } catch (error) {
    handle.kill('SIGKILL');
    await exited;
    throw error;
  }
  return handle;
}
