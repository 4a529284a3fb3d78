import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What one `ratchet` run printed and how it ended. */
export interface RatchetRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const BIN = 'packages/cli/bin/ratchet.js';

/** Run the `ratchet` bin (the shim users get) as a child process with this env added to the parent's. */
export function runRatchet(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs = 120_000,
): Promise<RatchetRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: repoRoot,
      env: { ...process.env, RATCHET_DEBUG: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** True when `text` is exactly one line and carries no stack trace. */
export function isOneLineMessage(text: string): boolean {
  const lines = text.trimEnd().split('\n');
  return lines.length === 1 && lines[0]!.startsWith('ratchet: ') && !/\n\s+at\s/.test(text);
}
