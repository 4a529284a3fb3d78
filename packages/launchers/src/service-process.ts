import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LauncherError } from './launcher-error.js';

/** Options of {@link startServiceProcess}. */
export interface ServiceProcessOptions {
  /**
   * Entry point, absolute or relative to `cwd`. A `.ts` entry runs with tsx and the "source" export
   * condition (workspace packages resolve to their sources); anything else (a built `.js`) with plain node.
   */
  readonly entry: string;
  /** Name in error messages, e.g. `worker-2`. Default: the entry. */
  readonly name?: string;
  /** Environment added to this process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Node flags placed before the entry, e.g. `--cpu-prof` (Node 20 refuses it in NODE_OPTIONS). Default none. */
  readonly nodeArgs?: readonly string[];
  /** Arguments after the entry, e.g. `['worker', 'dist/app.js']` for the `ratchet` bin. Default none. */
  readonly args?: readonly string[];
  /** The pino `msg` on stdout that says the process is ready. Default 'worker ready'. */
  readonly readyMessage?: string;
  /**
   * Ready when something accepts TCP connections on 127.0.0.1 at this port, instead of a log line:
   * for processes that are not Ratchet services (an app's web server). `ready` is then `{ httpPort }`.
   */
  readonly readyPort?: number;
  /** How long to wait for the ready line, in ms. Default 60,000 (tsx compiles the entry's sources on a cold start). */
  readonly readyTimeoutMs?: number;
  /** Working directory. Default: the repository root. */
  readonly cwd?: string;
  /** File every stdout and stderr line is appended to. Default none. */
  readonly logFile?: string;
  /** Keep only the last this many lines in `logs` and in `stderr`, for a long-lived child. Default: keep all. */
  readonly maxLogLines?: number;
  /** Run the child in its own process group, so a Ctrl-C in the terminal reaches only this process. Default false. */
  readonly detached?: boolean;
  /** Set RATCHET_EXIT_WITH_PARENT, so the child drains and exits when this process dies. Default true. */
  readonly exitWithParent?: boolean;
  /** Echo the child's lines to this process's stderr, prefixed with its pid. Default false. */
  readonly echo?: boolean;
}

/** A running (or exited) service process: worker, projector, dashboard, a benchmark responder. */
export interface ServiceProcess {
  /** The `name` option, else the entry. */
  readonly name: string;
  readonly pid: number;
  /** Fields of the ready log line (e.g. httpPort). */
  readonly ready: Readonly<Record<string, unknown>>;
  /** JSON log lines from stdout so far (a line that is not JSON as `{ msg: line }`). */
  readonly logs: ReadonlyArray<Record<string, unknown>>;
  /** Lines on stderr so far (where crash points announce themselves). */
  readonly stderr: readonly string[];
  /** The exit code, or the signal name, once it has exited; undefined while it runs. */
  readonly exit: number | string | undefined;
  /** Resolves with the exit code (or signal name) when the process exits. */
  readonly exited: Promise<number | string>;
  /** Send a signal by pid; a no-op once it has exited. */
  kill(signal: NodeJS.Signals): void;
  /** SIGCONT (a paused child could not act on SIGTERM) and SIGTERM, SIGKILL past `deadlineMs` (default 15,000); resolves with the exit. */
  stop(deadlineMs?: number): Promise<number | string>;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** Output lines kept for the error message when the child fails to start. */
const RECENT_LINES = 20;

/**
 * Start a Ratchet service as a child process and wait until it logs its ready line; kills it (by pid)
 * and rejects with a {@link LauncherError} carrying its last lines if it exits or times out first.
 * Always `stop()` it: in teardown, or in `finally`.
 * @example
 * const worker = await startServiceProcess({ entry: 'services/worker/src/main.ts', env: { NATS_URL, DATABASE_URL, HTTP_PORT: '0' } });
 * try {
 *   await fetch(`http://127.0.0.1:${String(worker.ready['httpPort'])}/readyz`);
 * } finally {
 *   await worker.stop();
 * }
 */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const runner = /\.[cm]?ts$/.test(options.entry) ? ['--conditions=source', '--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...runner, options.entry, ...(options.args ?? [])], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...(options.exitWithParent === false ? {} : { RATCHET_EXIT_WITH_PARENT: 'true' }), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const name = options.name ?? options.entry;
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new LauncherError(`could not start ${name}: ${error.message}`, { cause: error })));
  });
  const service = new ChildService(child, name, options);
  const readyMessage = options.readyMessage ?? 'worker ready';
  const readyPort = options.readyPort;
  const awaited = readyPort === undefined ? `log "${readyMessage}"` : `accept connections on port ${readyPort}`;
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(service.failure(`did not ${awaited} within ${timeoutMs} ms`)), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      if (readyPort === undefined) service.onReady(readyMessage, done);
      else service.onListening(readyPort, done);
      void service.exited.then((exit) => {
        clearTimeout(timer);
        reject(service.failure(`exited with ${exit} before it was ready`));
      });
    });
  } catch (error) {
    service.kill('SIGKILL');
    await service.exited;
    throw error;
  }
  return service;
}

class ChildService implements ServiceProcess {
  readonly name: string;
  readonly pid: number;
  ready: Readonly<Record<string, unknown>> = {};
  readonly logs: Array<Record<string, unknown>> = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | string>;
  exit: number | string | undefined;
  readonly #max: number;
  readonly #recent: string[] = [];
  readonly #file: WriteStream | undefined;
  #awaiting: { readonly message: string; readonly done: () => void } | undefined;

  constructor(child: ChildProcess, name: string, options: ServiceProcessOptions) {
    this.name = name;
    // Made only after 'spawn' (so it has a pid), with stdout and stderr piped.
    const { pid, stdout, stderr } = child;
    if (pid === undefined || stdout === null || stderr === null)
      throw new LauncherError(`${name} started without a pid or without its output pipes`);
    this.pid = pid;
    this.#max = options.maxLogLines ?? Number.POSITIVE_INFINITY;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = code ?? signal ?? 'unknown';
        resolve(this.exit);
      }),
    );
    // A signal sent after the child exited and before it was reaped surfaces here; nothing to do.
    child.on('error', () => undefined);
    if (options.logFile !== undefined) {
      const file = createWriteStream(options.logFile, { flags: 'a' });
      file.on('error', () => undefined); // a lost log file must not take the parent down
      child.once('close', () => file.end());
      this.#file = file;
    }
    // Both pipes are read for the child's whole life: a chatty child must never block on a full pipe.
    createInterface({ input: stdout }).on('line', (line) => {
      this.#seen(line, options.echo ? `[${this.pid}] ` : undefined);
      this.#onLog(line);
    });
    createInterface({ input: stderr }).on('line', (line) => {
      this.#seen(line, options.echo ? `[${this.pid}!] ` : undefined);
      keepLast(this.stderr, line, this.#max);
    });
  }

  /** Call `done` once, when 127.0.0.1:`port` accepts a connection; gives up when the process exits. */
  onListening(port: number, done: () => void): void {
    const probe = (): void => {
      if (this.exit !== undefined) return;
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        this.ready = { httpPort: port };
        done();
      });
      socket.once('error', () => {
        socket.destroy();
        setTimeout(probe, 100).unref();
      });
    };
    probe();
  }

  /** Call `done` once, when a stdout log line's `msg` is `message`. */
  onReady(message: string, done: () => void): void {
    this.#awaiting = { message, done };
  }

  /** A start-up failure with the child's last lines. */
  failure(what: string): LauncherError {
    return new LauncherError(`${this.name} ${what}`, { log: this.#recent.join('\n') });
  }

  kill(signal: NodeJS.Signals): void {
    if (this.exit !== undefined) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  async stop(deadlineMs = 15_000): Promise<number | string> {
    if (this.exit !== undefined) return this.exit;
    this.kill('SIGCONT');
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), deadlineMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #seen(line: string, echoPrefix: string | undefined): void {
    this.#file?.write(`${line}\n`);
    keepLast(this.#recent, line, RECENT_LINES);
    if (echoPrefix !== undefined) process.stderr.write(`${echoPrefix}${line}\n`);
  }

  #onLog(line: string): void {
    let entry: Record<string, unknown> = { msg: line };
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null) entry = parsed as Record<string, unknown>;
    } catch {
      // not a JSON log line: kept as its msg
    }
    keepLast(this.logs, entry, this.#max);
    const awaiting = this.#awaiting;
    if (awaiting !== undefined && entry.msg === awaiting.message) {
      this.#awaiting = undefined;
      this.ready = entry;
      awaiting.done();
    }
  }
}

function keepLast<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}
