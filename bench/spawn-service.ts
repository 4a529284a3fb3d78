/**
 * Start a service (worker, baseline responder) as a child process with extra Node flags and wait for
 * its ready log line. Like `startServiceProcess` from @ratchet/testing, which cannot pass flags such
 * as `--cpu-prof` (Node 20 refuses them in NODE_OPTIONS). Always `stop()` it in `finally`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** A running child service. */
export interface SpawnedService {
  readonly pid: number;
  /** Fields of the ready log line (e.g. the worker's httpPort). */
  readonly ready: Readonly<Record<string, unknown>>;
  /** SIGTERM (graceful: a CPU profile is written on exit), SIGKILL past the deadline; resolves on exit. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Options of {@link spawnService}. */
export interface SpawnServiceOptions {
  /** Entry point, relative to the repo root; run with tsx and the "source" export condition. */
  readonly entry: string;
  /** Environment added to this process's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Node flags placed before the entry (e.g. `--cpu-prof`). Default none. */
  readonly nodeArgs?: readonly string[];
  /** The JSON log line's `msg` that says it is ready. */
  readonly readyMessage: string;
  /** Default 60,000 ms. */
  readonly readyTimeoutMs?: number;
}

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** Spawn `entry` and resolve once it logs `readyMessage`; rejects (after killing it) if it exits or times out first. */
export async function spawnService(options: SpawnServiceOptions): Promise<SpawnedService> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--conditions=source', '--import', 'tsx', options.entry], {
    cwd: repoRoot,
    env: { ...process.env, RATCHET_EXIT_WITH_PARENT: 'true', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.entry}`);
  const tail: string[] = [];
  const keep = (line: string): void => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  // Keep reading both pipes for the child's whole life, or a chatty child would block on a full pipe.
  createInterface({ input: child.stderr }).on('line', keep);
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.entry} not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${tail.join('\n')}`)), options.readyTimeoutMs ?? 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      keep(line);
      try {
        const fields = JSON.parse(line) as Record<string, unknown>;
        if (fields['msg'] === options.readyMessage) {
          clearTimeout(timer);
          resolve(fields);
        }
      } catch {
        // not a JSON log line
      }
    });
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`${options.entry} exited before it was ready:\n${tail.join('\n')}`));
    });
  });
  const stop = async (deadlineMs = 30_000): Promise<void> => {
    if (exited) return;
    process.kill(pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (!exited) process.kill(pid, 'SIGKILL');
    }, deadlineMs);
    await exit;
    clearTimeout(timer);
  };
  let fields: Record<string, unknown>;
  try {
    fields = await ready;
  } catch (error) {
    if (!exited) process.kill(pid, 'SIGKILL');
    await exit;
    throw error;
  }
  return { pid, ready: fields, stop };
}
