// crashPoint kills the process it runs in, so each case runs it in a child node process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const module = fileURLToPath(new URL('./crash-point.ts', import.meta.url));

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Hit `point` three times in a child process with `env`, printing `hit <i>` after each hit survived. */
function hitThreeTimes(point: string, env: Record<string, string>): Promise<Exit> {
  const script = `const { crashPoint } = await import(${JSON.stringify(module)});
for (let i = 1; i <= 3; i += 1) { crashPoint(${JSON.stringify(point)}); console.log('hit ' + i); }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, RATCHET_CRASH_POINT: '', RATCHET_CRASH_AFTER: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('crashPoint', () => {
  it('does nothing unless RATCHET_CRASH_POINT names the point', async () => {
    const exit = await hitThreeTimes('before-commit', { RATCHET_CRASH_POINT: 'after-commit-before-reply' });
    expect(exit).toMatchObject({ code: 0, signal: null, stdout: 'hit 1\nhit 2\nhit 3\n' });
    expect(exit.stderr).not.toContain('crash point');
  });

  it('dies by SIGKILL at the first hit, after the line the fault harnesses wait for', async () => {
    const exit = await hitThreeTimes('projector-before-commit', { RATCHET_CRASH_POINT: 'projector-before-commit' });
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL', stdout: '' });
    expect(exit.stderr).toContain('ratchet: crash point projector-before-commit reached (hit 1); SIGKILL\n');
  });

  it('dies at the n-th hit with RATCHET_CRASH_AFTER=n', async () => {
    const exit = await hitThreeTimes('before-commit', { RATCHET_CRASH_POINT: 'before-commit', RATCHET_CRASH_AFTER: '3' });
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL', stdout: 'hit 1\nhit 2\n' });
    expect(exit.stderr).toContain('crash point before-commit reached (hit 3)');
  });
});
