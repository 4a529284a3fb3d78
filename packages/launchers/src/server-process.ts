// Internal: one spawned server process with its output kept for error messages.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { LauncherError } from './launcher-error.js';

const TAIL_LINES = 60;

/** How a server process ended. */
export interface ServerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

/** Spawn options beyond command and arguments. */
export interface ServerSpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly uid?: number;
  readonly gid?: number;
  /**
   * Run it in a process group (and session) of its own, so that a terminal's Ctrl-C reaches only
   * the parent, which stops it in its turn. Default false: the server shares the parent's group.
   */
  readonly detached?: boolean;
}

// Servers still running when this process exits are killed, so a crashed run leaves no
// orphan listening on a port. Only our own children, by pid.
const live = new Set<number>();
let exitHookInstalled = false;
function trackLive(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of live) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  live.add(pid);
}

/** A running (or exited) server child process. */
export class ServerProcess {
  readonly pid: number;
  readonly exited: Promise<ServerExit>;
  #exit: ServerExit | undefined;
  readonly #lines: string[] = [];

  private constructor(child: ChildProcess, pid: number, exited: Promise<ServerExit>) {
    this.pid = pid;
    this.exited = exited.then((exit) => {
      this.#exit = exit;
      live.delete(pid);
      return exit;
    });
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        this.#push(parts);
      });
      stream?.on('end', () => partial !== '' && this.#push([partial]));
    }
  }

  /** Spawn `command`; resolves once the OS reports the process started (or rejects if it could not). */
  static async spawn(command: string, args: readonly string[], options: ServerSpawnOptions = {}): Promise<ServerProcess> {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      uid: options.uid,
      gid: options.gid,
      detached: options.detached ?? false,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<ServerExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new LauncherError(`could not start ${command}: ${error.message}`, { cause: error })));
    });
    const pid = child.pid;
    if (pid === undefined) throw new LauncherError(`could not start ${command}: no pid`);
    trackLive(pid);
    // A forgotten server must not keep its parent alive; the exit hook above kills it.
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as Socket | null)?.unref();
    return new ServerProcess(child, pid, exited);
  }

  /** Whether the process has exited (and been reaped). */
  get hasExited(): boolean {
    return this.#exit !== undefined;
  }

  /** The exit status once it has exited. */
  get exit(): ServerExit | undefined {
    return this.#exit;
  }

  /** How it ended, for error messages: the spawn error, the signal or the exit code. */
  describeExit(): string {
    const exit = this.#exit;
    if (exit?.error) return exit.error.message;
    return exit?.signal ? `signal ${exit.signal}` : `code ${String(exit?.code)}`;
  }

  /** The last lines the process wrote to stdout and stderr. */
  output(): string {
    return this.#lines.join('\n');
  }

  /** Send a signal to the process by pid; a no-op once it has exited. */
  signal(signal: NodeJS.Signals): void {
    if (this.hasExited) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /**
   * Send `signal`, wait up to `timeoutMs` for the exit, then SIGKILL and wait again.
   * Resolves only once the process is gone.
   */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<ServerExit> {
    if (this.#exit) return this.#exit;
    // A stopped (SIGSTOP) process cannot act on SIGTERM until it is continued.
    this.signal('SIGCONT');
    this.signal(signal);
    const graceful = await this.#exitWithin(timeoutMs);
    if (graceful) return graceful;
    this.signal('SIGKILL');
    const killed = await this.#exitWithin(10_000);
    if (killed) return killed;
    throw new LauncherError(`process ${this.pid} did not exit after SIGKILL`, { log: this.output() });
  }

  async #exitWithin(ms: number): Promise<ServerExit | undefined> {
    const timer = new AbortController();
    try {
      return await Promise.race([this.exited, delay(ms, undefined, { signal: timer.signal }).catch(() => undefined)]);
    } finally {
      timer.abort();
    }
  }

  #push(lines: string[]): void {
    this.#lines.push(...lines);
    if (this.#lines.length > TAIL_LINES) this.#lines.splice(0, this.#lines.length - TAIL_LINES);
  }
}
