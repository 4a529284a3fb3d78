import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('./on-shutdown.ts', import.meta.url));

/** A process that drains for `drainMs` on the first signal; resolves with its exit code and its log messages. */
function drainer(
  drainMs: number,
  signals: ReadonlyArray<{ afterMs: number; signal: NodeJS.Signals }>,
): Promise<{ code: number | null; messages: string[] }> {
  const script = `import { pino } from 'pino';
import { onShutdown } from ${JSON.stringify(entry)};
onShutdown(pino(), () => new Promise((resolve) => setTimeout(resolve, ${drainMs})));
console.log(JSON.stringify({ msg: 'up' }));
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    const first = out === '';
    out += d.toString();
    if (first) for (const s of signals) setTimeout(() => child.kill(s.signal), s.afterMs);
  });
  return new Promise((resolve) =>
    child.once('exit', (code) =>
      resolve({
        code,
        messages: out
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { msg: string }).msg),
      }),
    ),
  );
}

describe('onShutdown', () => {
  it('drains once and exits 0 when one Ctrl-C arrives twice (the terminal, and npm forwarding it)', async () => {
    const r = await drainer(1_500, [
      { afterMs: 0, signal: 'SIGINT' },
      { afterMs: 50, signal: 'SIGINT' },
    ]);
    expect(r).toEqual({ code: 0, messages: ['up', 'draining', 'drained; exiting'] });
  });

  it('exits at once with 130 on a second signal well after the first', async () => {
    const r = await drainer(10_000, [
      { afterMs: 0, signal: 'SIGTERM' },
      { afterMs: 1_300, signal: 'SIGINT' },
    ]);
    expect(r).toEqual({ code: 130, messages: ['up', 'draining', 'second signal while draining; exiting now'] });
  });
});
