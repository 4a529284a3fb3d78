// A Ratchet service process for the fault campaign. Like @ratchet/testing's startServiceProcess,
// but it keeps stderr (where crash points announce themselves) and only a bounded log tail, so a
// 30-minute campaign with hundreds of restarts does not hoard every log line.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@ratchet/testing';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const TAIL = 200;

/** A running (or exited) service process. */
export interface Service {
  readonly name: string;
  readonly pid: number;
  /** Fields of the ready line (httpPort). */
  ready: Readonly<Record<string, unknown>>;
  /** Last log lines (parsed JSON) and stderr lines. */
  readonly logs: Array<Record<string, unknown>>;
  readonly stderr: string[];
  /** Exit code, or the signal name. */
  readonly exited: Promise<number | string>;
  exit: number | string | undefined;
  /** Log messages seen, counted by `msg` (all of them, not only the tail). */
  readonly seen: Map<string, number>;
  kill(signal: NodeJS.Signals): void;
  /** SIGCONT + SIGTERM, SIGKILL past the deadline; resolves with the exit. */
  stop(deadlineMs?: number): Promise<number | string>;
}

/** Spawn `entry` with tsx; resolve once it logs `readyMessage` (reject, after a SIGKILL, if it exits or times out first). */
export async function spawnService(options: {
  name: string;
  entry: string;
  env: Record<string, string>;
  readyMessage: string;
  readyTimeoutMs?: number;
}): Promise<Service> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', options.entry], {
    cwd: repoRoot,
    env: { ...process.env, RATCHET_EXIT_WITH_PARENT: 'true', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${options.entry}`);
  const pid = child.pid;
  const service: Service = {
    name: options.name,
    pid,
    ready: {},
    logs: [],
    stderr: [],
    seen: new Map(),
    exit: undefined,
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        service.exit = code ?? signal ?? 'unknown';
        resolve(service.exit);
      }),
    ),
    kill(signal) {
      if (service.exit !== undefined) return;
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    },
    async stop(deadlineMs = 10_000) {
      if (service.exit !== undefined) return service.exit;
      service.kill('SIGCONT');
      service.kill('SIGTERM');
      const timer = setTimeout(() => service.kill('SIGKILL'), deadlineMs);
      const value = await service.exited;
      clearTimeout(timer);
      return value;
    },
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      entry = { msg: line };
    }
    const msg = String(entry['msg']);
    service.seen.set(msg, (service.seen.get(msg) ?? 0) + 1);
    if (msg === options.readyMessage) service.ready = entry;
    service.logs.push(entry);
    if (service.logs.length > TAIL) service.logs.splice(0, service.logs.length - TAIL);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    service.stderr.push(line);
    if (service.stderr.length > TAIL) service.stderr.splice(0, service.stderr.length - TAIL);
  });
  try {
    await waitFor(async () => service.seen.has(options.readyMessage), {
      what: `${options.name} to log "${options.readyMessage}"`,
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      intervalMs: 100,
      abortIf: () => {
        if (service.exit !== undefined) {
          const tail = [...service.logs.slice(-5).map((l) => JSON.stringify(l)), ...service.stderr.slice(-5)].join('\n');
          throw new Error(`${options.name} exited with ${String(service.exit)} before it was ready:\n${tail}`);
        }
      },
    });
  } catch (error) {
    service.kill('SIGKILL');
    await service.exited;
    throw error;
  }
  return service;
}
